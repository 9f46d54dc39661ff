"""Who may open, read, edit, sign off and reopen a review: agents read their pod's signed reviews only,
the pod's coaches edit its drafts, only leaders sign off and reopen."""

from __future__ import annotations

from app import permissions as P
from app.org.models import Pod, Role, User
from app.reviews.models import Review, ReviewStatus


def _is_leader(user: User) -> bool:
    return user.has_role(Role.LEADER)


def may_open(user: User, pod: Pod | int) -> bool:
    return P.can(user, P.COACH_POD, pod)


def may_view(user: User, review: Review) -> bool:
    if P.can(user, P.COACH_POD, review.pod_id):
        return True
    relations = P.pod_relations(user)
    return review.status == ReviewStatus.SIGNED_OFF.value and review.pod_id in relations.member_of


def may_edit(user: User, review: Review) -> bool:
    return review.status != ReviewStatus.SIGNED_OFF.value and may_open(user, review.pod_id)


def may_sign_off(user: User, review: Review) -> bool:
    return _is_leader(user) and review.status == ReviewStatus.IN_REVIEW.value


def may_reopen(user: User, review: Review) -> bool:
    return _is_leader(user) and review.status == ReviewStatus.SIGNED_OFF.value


def may_view_all(user: User) -> bool:
    return _is_leader(user)
