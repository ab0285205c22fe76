"""The platform's event names, once: what a command can subscribe to and be called back for.

Older documentation spells them like `KUDOS_POSTED`; both spellings name the dotted event.
"""

from __future__ import annotations

import difflib
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

_BY_UPPER_SPELLING: Final = {name.upper().replace(".", "_"): name for name in EVENT_NAMES}
_BY_SPELLING: Final = {name: name for name in EVENT_NAMES} | _BY_UPPER_SPELLING


def normalise_event_name(name: str) -> str:
    """The dotted form of an event name (`KUDOS_POSTED` -> `kudos.posted`).

    Names not in the catalogue are lower-cased and kept, so a new platform event can be
    handled before this list learns it.
    """
    cleaned = name.strip()
    return _BY_SPELLING.get(cleaned) or _BY_SPELLING.get(cleaned.upper()) or cleaned.lower()


def known_event_name(name: str) -> str | None:
    """The dotted form of `name` when it is one of the platform's events, else None."""
    dotted = normalise_event_name(name)
    return dotted if dotted in EVENT_NAMES else None


def closest_event_name(name: str) -> str | None:
    """The platform event `name` most likely meant (`kudos.given` -> `kudos.posted`), if any."""
    # Compared in one spelling (`KUDOS_GIVEN`), so `kudos.given` and `KUDOS_GIVEN` find the same.
    spelled = _upper_spelling(name.strip())
    guesses = difflib.get_close_matches(spelled, _BY_UPPER_SPELLING, n=1, cutoff=0.6)
    return _BY_UPPER_SPELLING[guesses[0]] if guesses else None


def _upper_spelling(name: str) -> str:
    return name.upper().replace(".", "_")
