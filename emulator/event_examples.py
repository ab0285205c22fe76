"""A realistic example body for every event, with the organization's own users in it.

Used when an event is fired without a body (``python -m emulator trigger EVENT``) and shown in
the playground's event form, so trying an event never starts from ``{}``. The shapes follow the
envelope's ``body`` in ``docs/dailybot-contract.md`` (``{"kudos": {"from", "to", "message"}}``
for ``kudos.posted``); ids of check-ins, forms and teams are fixed, so examples do not change
between runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from emulator.event_names import EVENT_NAMES
from emulator.timestamps import iso_z
from emulator.world import User, World

_NAMESPACE = uuid.UUID("5b1f0c3e-7d4a-4c61-9a55-3f2d8e0b6a71")

Example = Callable[[User, User, str], dict[str, Any]]


def _fixed_uuid(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def _person(user: User) -> dict[str, str]:
    return {"uuid": user.uuid, "full_name": user.full_name, "timezone": user.timezone}


def _followup_response(author: User, when: str, stamp: str) -> dict[str, Any]:
    return {
        "followup": {"uuid": _fixed_uuid("followup:daily-standup"), "name": "Daily standup"},
        "response": {
            "uuid": _fixed_uuid(f"followup-response:{author.uuid}"),
            "user": _person(author),
            stamp: when,
            "answers": [
                {"question": "What did you do yesterday?", "answer": "Closed the release list"},
                {"question": "What will you do today?", "answer": "Pair on the billing export"},
                {"question": "Anything blocking you?", "answer": "No"},
            ],
        },
    }


def _form_response(author: User, when: str, stamp: str) -> dict[str, Any]:
    return {
        "form": {"uuid": _fixed_uuid("form:team-feedback"), "name": "Team feedback"},
        "response": {
            "uuid": _fixed_uuid(f"form-response:{author.uuid}"),
            "user": _person(author),
            stamp: when,
            "answers": [
                {"question": "How was this sprint?", "answer": "Good pace, clear goals"},
                {"question": "One thing to change", "answer": "Shorter planning meeting"},
            ],
        },
    }


def _team_change(author: User, when: str, stamp: str) -> dict[str, Any]:
    return {
        "team": {"uuid": _fixed_uuid("team:engineering"), "name": "Engineering"},
        "user": _person(author),
        stamp: when,
    }


EXAMPLES: dict[str, Example] = {
    "followups.response.completed": lambda a, b, t: _followup_response(a, t, "completed_at"),
    "followups.response.updated": lambda a, b, t: _followup_response(a, t, "updated_at"),
    "followups.response.deleted": lambda a, b, t: _followup_response(a, t, "deleted_at"),
    "forms.response.created": lambda a, b, t: _form_response(a, t, "created_at"),
    "forms.response.updated": lambda a, b, t: _form_response(a, t, "updated_at"),
    "forms.response.deleted": lambda a, b, t: _form_response(a, t, "deleted_at"),
    "kudos.posted": lambda a, b, t: {
        "kudos": {
            "uuid": _fixed_uuid(f"kudos:{a.uuid}:{b.uuid}"),
            "from": a.uuid,
            "to": [b.uuid],
            "message": f"Thanks {b.full_name.split()[0]} for unblocking the release!",
            "company_value": "Teamwork",
            "is_anonymous": False,
            "created_at": t,
        }
    },
    "organization.user_activated": lambda a, b, t: {"user": _person(b), "activated_at": t},
    "organization.user_deactivated": lambda a, b, t: {"user": _person(b), "deactivated_at": t},
    "organization.team_user_added": lambda a, b, t: _team_change(b, t, "added_at"),
    "organization.team_user_removed": lambda a, b, t: _team_change(b, t, "removed_at"),
}
assert set(EXAMPLES) == set(EVENT_NAMES), "every event needs an example body"


def example_bodies(world: World, organization_uuid: str, now: float) -> dict[str, Any]:
    """An example body for every event name, as it would happen in ``organization_uuid``."""
    members = world.users_of(organization_uuid)
    if not members:
        return {name: {} for name in EVENT_NAMES}
    first, second = members[0], members[1] if len(members) > 1 else members[0]
    when = iso_z(now)
    return {name: EXAMPLES[name](first, second, when) for name in EVENT_NAMES}
