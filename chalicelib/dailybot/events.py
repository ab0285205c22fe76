"""The platform's event names, once: what a command can subscribe to and be called back for.

Older documentation spells them like `KUDOS_POSTED`; both spellings name the dotted event.
"""

from __future__ import annotations

from typing import Final

EVENT_NAMES: Final = (
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

_BY_SPELLING: Final = {name: name for name in EVENT_NAMES} | {
    name.upper().replace(".", "_"): name for name in EVENT_NAMES
}


def normalise_event_name(name: str) -> str:
    """The dotted form of an event name (`KUDOS_POSTED` -> `kudos.posted`).

    Names not in the catalogue are lower-cased and kept, so a new platform event can be
    handled before this list learns it.
    """
    cleaned = name.strip()
    return _BY_SPELLING.get(cleaned) or _BY_SPELLING.get(cleaned.upper()) or cleaned.lower()
