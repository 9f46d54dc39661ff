"""Who may open, read, edit, sign off and reopen a review, registered as policies in app.permissions (ask
``can(user, "reviews.<verb>", obj)``): agents read their pod's signed reviews only, the pod's coaches open and
edit its drafts and update confidence, only leaders sign off, reopen and see every pod side by side."""

from __future__ import annotations

from app import permissions as P
from app.org.models import Pod, Role, User
from app.permissions import minimum_role, policy
from app.reviews.models import Review, ReviewStatus


@policy("reviews.open")
def can_open(user: User, pod: Pod | int | None = None) -> bool:
    """Open the pod's review of a quarter, edit its drafts' content, update key result confidence. Without a pod:
    may the user open some pod's review at all (leaders, and coaches of a pod)."""
    if pod is None:
        return user.has_role(Role.LEADER) or (user.has_role(Role.COACH) and bool(P.pod_relations(user).coached))
    return P.can(user, P.COACH_POD, pod)


@policy("reviews.view")
def can_view(user: User, review: Review) -> bool:
    if can_open(user, review.pod_id):
        return True
    return review.status == ReviewStatus.SIGNED_OFF.value and review.pod_id in P.pod_relations(user).member_of


@policy("reviews.edit")
def can_edit(user: User, review: Review) -> bool:
    return review.status != ReviewStatus.SIGNED_OFF.value and can_open(user, review.pod_id)


@policy("reviews.sign_off")
def can_sign_off(user: User, review: Review | None = None) -> bool:
    """Leaders sign off; with a review, only one that waits for sign-off."""
    return user.has_role(Role.LEADER) and (review is None or review.status == ReviewStatus.IN_REVIEW.value)


@policy("reviews.reopen")
def can_reopen(user: User, review: Review | None = None) -> bool:
    return user.has_role(Role.LEADER) and (review is None or review.status == ReviewStatus.SIGNED_OFF.value)


minimum_role("reviews.view_all", Role.LEADER)
