"""The task lifecycle as data: which transitions exist and which role may make each one (pure)."""

from __future__ import annotations

from api_schemas.accounts import Role
from api_schemas.tasks import TaskStatus as S

_STAFF = frozenset({Role.admin, Role.coordinator})
_SHOPPER = frozenset({Role.shopper})
_SYSTEM: frozenset[Role] = frozenset()  # done by the service itself (e.g. expiry), never directly by a user

# (from, to) → roles allowed to make that move.
TRANSITIONS: dict[tuple[S, S], frozenset[Role]] = {
    (S.open, S.assigned): _STAFF | _SHOPPER,  # assigned by hand, or claimed from the job board
    (S.assigned, S.assigned): _STAFF,  # re-assigned to someone else
    (S.assigned, S.open): _STAFF,
    (S.assigned, S.accepted): _SHOPPER,
    (S.assigned, S.submitted): _SHOPPER,
    (S.accepted, S.submitted): _SHOPPER,
    (S.submitted, S.returned): _STAFF,
    (S.returned, S.submitted): _SHOPPER,
    (S.submitted, S.approved): _STAFF,
    (S.submitted, S.rejected): _STAFF,
    (S.returned, S.rejected): _STAFF,  # the shopper never sent it back
    (S.open, S.expired): _SYSTEM,
    (S.assigned, S.expired): _SYSTEM,
    (S.accepted, S.expired): _SYSTEM,
    # Cancelled by staff, or by the system (which may make any move listed here): a retry of a call
    # whose report was corrected to say it was answered, while the retry is not yet under way.
    (S.open, S.cancelled): _STAFF,
    (S.assigned, S.cancelled): _STAFF,
    (S.accepted, S.cancelled): _STAFF,
    # A retry the system cancelled (its call was corrected to answered) is opened again by the system
    # when the call is corrected back to unanswered.
    (S.cancelled, S.open): _SYSTEM,
}

SUBMITTABLE = frozenset({S.assigned, S.accepted, S.returned})
FINAL = frozenset({S.approved, S.rejected, S.expired, S.cancelled})


def can_move(current: S, target: S, role: Role | None) -> bool:
    """Whether `role` may move a task from `current` to `target`; role None is the system itself."""
    allowed = TRANSITIONS.get((current, target))
    if allowed is None:
        return False
    return role is None or role in allowed
