"""The event names a hook can subscribe to, and their normalisation to the dotted form."""

from __future__ import annotations

EVENT_NAMES = (
    "followups.response.completed",
    "followups.response.updated",
    "followups.response.deleted",
    "forms.response.created",
    "forms.response.updated",
    "forms.response.deleted",
    "kudos.posted",
    "organization.user_activated",
    "organization.user_deactivated",
    "organization.team_user_added",
    "organization.team_user_removed",
)

# Older docs spell names like KUDOS_POSTED; both spellings mean the dotted name.
_BY_SPELLING = {name: name for name in EVENT_NAMES} | {
    name.upper().replace(".", "_"): name for name in EVENT_NAMES
}


def normalise_event(name: str) -> str | None:
    """The dotted event name for either spelling, or ``None`` for an unknown event."""
    return _BY_SPELLING.get(name.strip())
