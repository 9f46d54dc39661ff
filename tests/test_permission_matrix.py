"""The permission matrix: for every route, which identities may read or write it, checked against the server.

Identities on the demo data: anonymous, an agent and the coach of another pod (``agent_b``, ``coach_b``), an agent
and the coach of the pod the objects belong to (``agent_a``, ``coach_a``), a leader and an admin. Every URL
parameter names an object of pod A (or a bystander member of pod A, so no identity is deactivated or moved).
A GET is "allowed" when it answers 2xx or redirects elsewhere than the sign-in page; a POST (sent empty, so it
changes as little as possible) is "allowed" when it is not refused with 401/403/404 or the sign-in page — a 400
or 422 means the rule let the person in and the form was then refused.

MATRIX names, per endpoint and method, the identities allowed. A route added without an entry fails
``test_every_route_has_an_entry``.
"""

from __future__ import annotations

import re

import pytest
from flask_babel import refresh
from sqlalchemy import select

from app.api.models import ApiToken
from app.autonomy.models import ActionType, Decision, Limit, Proposal
from app.demo.org_data import ADMIN_EMAIL, AGENT_EMAIL, COACH_EMAIL, LEADER_EMAIL
from app.extensions import db
from app.notifications.models import Notification
from app.org.models import LifecycleStage, Membership, Pod, Role, Segment, User, pod_coaches
from app.outcomes.models import Import, ValueMapping
from app.pilots.models import Pilot
from app.recognition.models import Recognition
from app.retros.models import Retro, RetroAction, RetroCard, RetroGroup, RetroTemplate
from app.reviews.models import KeyResult, Objective, Review
from app.skills.models import PodSkill, SkillProposal
from app.standups.models import Blocker, StandupBoard
from app.timeutil import utcnow
from tests.demo_snapshot import load_demo_snapshot

IDENTITIES = ("anon", "agent_b", "coach_b", "agent_a", "coach_a", "leader", "admin")

# Named sets of identities.
EVERYONE = frozenset(IDENTITIES)
SIGNED_IN = EVERYONE - {"anon"}
POD_A = frozenset({"agent_a", "coach_a", "leader", "admin"})  # members, coaches and leaders of pod A
COACH_A = frozenset({"coach_a", "leader", "admin"})  # who may run pod A
LEADERS = frozenset({"leader", "admin"})
ADMINS = frozenset({"admin"})
COACHES = frozenset({"coach_a", "coach_b", "leader", "admin"})
NOBODY = frozenset()

SKIP = {"static", "auth.logout", "api.not_found"}

# Routes that validate an empty form before asking the permission rule: the probe (an empty POST) gets a 400/422
# from anyone who may see the object, so the matrix pins what the probe sees; the service itself refuses the
# others with 403 (each feature's tests show it). Moving the check before validation will shrink these entries.
VALIDATED_FIRST = frozenset({"leader", "admin"})

# endpoint -> {method: allowed identities}. Reviewed by hand; see the module docstring.
MATRIX: dict[str, dict[str, frozenset]] = {
    "api.get_metrics": {"GET": NOBODY},  # bearer tokens only; a browser session is not an API credential
    "api.get_pod_skills": {"GET": NOBODY},  # bearer tokens only (tests/skills/test_api.py: the page's rule)
    "api.get_opportunities": {"GET": NOBODY},  # bearer tokens only (tests/pilots/test_pilots_api.py)
    "api.get_pilot": {"GET": NOBODY},
    "api.get_pilots": {"GET": NOBODY},
    "api.openapi": {"GET": EVERYONE},
    "api.upsert_cases": {"POST": NOBODY},
    "api_tokens.create": {"POST": ADMINS},
    "api_tokens.index": {"GET": ADMINS},
    "api_tokens.revoke": {"POST": ADMINS},
    "auth.login": {"GET": EVERYONE, "POST": EVERYONE},
    "auth.password": {"POST": SIGNED_IN},
    "auth.profile": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "autonomy.accountability": {"GET": SIGNED_IN},  # each sees their own ledger; pods by the rules of the view
    "autonomy.action_type_list": {"GET": ADMINS},
    "autonomy.cancel_decision": {"POST": frozenset({"agent_a"})},  # the person who asked
    "autonomy.decide_proposal": {"POST": LEADERS},
    "autonomy.decision_detail": {"GET": COACH_A},  # another member's decision: its agent, the coach, leaders
    "autonomy.index": {"GET": SIGNED_IN},
    "autonomy.limit_history": {"GET": COACHES},
    "autonomy.limits": {"GET": COACHES},
    "autonomy.log_decision": {"POST": SIGNED_IN},
    "autonomy.proposals": {"GET": COACHES},
    "autonomy.queue": {"GET": COACHES},
    "autonomy.resolve": {"POST": COACH_A},  # the approvers in line: the pod's coach, leaders
    "autonomy.retire_limit": {"POST": LEADERS},
    "autonomy.save_action_type": {"POST": ADMINS},
    "autonomy.save_limit": {"POST": COACHES},
    "autonomy.save_settings": {"POST": ADMINS},
    "main.healthz": {"GET": EVERYONE},
    "main.home": {"GET": SIGNED_IN},
    "notifications.bell": {"GET": SIGNED_IN},
    "notifications.index": {"GET": SIGNED_IN},
    "notifications.open_notification": {"GET": frozenset({"agent_a"}), "POST": frozenset({"agent_a"})},  # its owner
    "notifications.read_all": {"POST": SIGNED_IN},
    "org.add_member": {"POST": COACH_A},
    "org.assign_cell": {"POST": COACHES},  # which pod a coach may put on a cell is checked with the pod chosen
    "org.coverage": {"GET": SIGNED_IN},
    "org.deactivate_user": {"POST": ADMINS},
    "org.edit_membership": {"POST": COACH_A},
    "org.edit_pod": {"GET": COACH_A, "POST": COACH_A},
    "org.edit_user": {"GET": ADMINS, "POST": ADMINS},
    "org.end_membership": {"POST": COACH_A},
    "org.new_pod": {"GET": LEADERS, "POST": LEADERS},
    "org.new_user": {"GET": ADMINS, "POST": ADMINS},
    "org.ordered_form": {"GET": ADMINS, "POST": ADMINS},
    "org.ordered_list": {"GET": ADMINS},
    "org.ordered_move": {"POST": ADMINS},
    "org.pod_detail": {"GET": SIGNED_IN},
    "org.pod_list": {"GET": SIGNED_IN},
    "org.reactivate_user": {"POST": ADMINS},
    "org.settings": {"GET": ADMINS, "POST": ADMINS},
    "org.user_list": {"GET": ADMINS},
    "outcomes.agent_dashboard": {"GET": COACH_A},  # a pod A agent's figures: their coach and leaders (and they)
    "outcomes.import_detail": {"GET": LEADERS},
    "outcomes.import_errors_csv": {"GET": LEADERS},
    "outcomes.import_list": {"GET": LEADERS},
    "outcomes.import_mapping_delete": {"POST": frozenset({"leader"})},  # the leader deletes it; then it is gone
    "outcomes.import_mapping_save": {"POST": LEADERS},
    "outcomes.import_mappings": {"GET": LEADERS},
    "outcomes.import_reattribute": {"POST": LEADERS},
    "outcomes.import_upload": {"POST": LEADERS},
    "outcomes.index": {"GET": SIGNED_IN},
    "outcomes.case_list": {"GET": POD_A},  # pod A's cases behind its FCR: like the pod's dashboard
    "outcomes.import_cancel": {"POST": LEADERS},
    "outcomes.org_dashboard": {"GET": LEADERS},
    "outcomes.pod_dashboard": {"GET": POD_A},
    "outcomes.pod_targets": {"GET": COACH_A, "POST": COACH_A},
    "pilots.close": {"POST": LEADERS},
    "pilots.index": {"GET": COACHES},  # leaders steer pilots; coaches read them
    "pilots.new_pilot": {"GET": LEADERS, "POST": LEADERS},
    "pilots.settings": {"GET": ADMINS, "POST": ADMINS},
    "pilots.show": {"GET": COACHES | {"agent_a"}},  # pod A's pilot: coaches, leaders and the pod's members
    "pilots.where_to_start": {"GET": COACHES},
    "pilots.widen": {"POST": LEADERS},
    "recognition.alignment": {"GET": COACH_A},
    "recognition.detail": {"GET": POD_A},
    "recognition.new": {"GET": POD_A, "POST": POD_A},  # members, coaches and leaders (who read every pod)
    "recognition.org_wall": {"GET": SIGNED_IN},
    "recognition.pod_wall": {"GET": SIGNED_IN},
    "recognition.react": {"POST": POD_A},
    "recognition.settings": {"GET": ADMINS, "POST": ADMINS},
    "retros.action_register": {"GET": POD_A},
    "retros.add_action": {"POST": frozenset({"agent_a", "coach_a"})},
    "retros.add_card": {"POST": frozenset({"agent_a", "coach_a"})},  # participants: members and coaches
    "retros.add_note": {"POST": frozenset({"agent_a", "coach_a"})},
    "retros.advance": {"POST": COACH_A},
    "retros.board": {"GET": POD_A},
    "retros.checkin": {"POST": frozenset({"agent_a", "coach_a"})},
    "retros.create_group": {"POST": frozenset({"agent_a", "coach_a"})},
    "retros.delete_card": {"POST": NOBODY},
    "retros.delete_template": {"POST": COACH_A},
    "retros.rename_group": {"POST": frozenset({"agent_a", "coach_a"})},  # the card's author only (a bystander here)
    "retros.edit_card": {"POST": NOBODY},
    "retros.export_csv": {"GET": POD_A},
    "retros.export_markdown": {"GET": POD_A},
    "retros.facilitator": {"POST": COACH_A},
    "retros.index": {"GET": SIGNED_IN},
    "retros.move_card": {"POST": frozenset({"agent_a", "coach_a"})},
    "retros.move_card_page": {"GET": frozenset({"agent_a", "coach_a"})},
    "retros.pod_retros": {"GET": POD_A, "POST": COACH_A},
    "retros.retro_page": {"GET": POD_A},
    "retros.review": {"POST": frozenset({"agent_a", "coach_a"})},
    "retros.save_template": {"POST": COACH_A},
    "retros.summary": {"GET": POD_A},
    "retros.timer": {"POST": COACH_A},  # the facilitator (here the coach) and whoever may run the pod
    "retros.unvote": {"POST": frozenset({"agent_a", "coach_a"})},
    "retros.vote": {"POST": frozenset({"agent_a", "coach_a"})},
    "reviews.add_key_result": {"POST": COACH_A},
    "reviews.add_objective": {"POST": COACH_A},
    "reviews.index": {"GET": SIGNED_IN},
    "reviews.leader_csv": {"GET": LEADERS},
    "reviews.leader_pdf": {"GET": LEADERS},
    "reviews.leader_view": {"GET": LEADERS},
    "reviews.open_review": {"POST": COACHES},  # the pod is in the form: then refused per pod by the service
    "reviews.print_review": {"GET": COACH_A},
    "reviews.reopen": {"POST": LEADERS},
    "reviews.review_csv": {"GET": COACH_A},
    "reviews.review_pdf": {"GET": COACH_A},
    "reviews.save_narrative": {"POST": COACH_A},
    "reviews.set_confidence": {"POST": COACH_A},
    "reviews.show": {"GET": COACH_A},
    "reviews.sign_off": {"POST": LEADERS},
    "reviews.submit": {"POST": COACH_A},
    "skills.add_skill": {"POST": COACH_A},  # the pod's coach sets; so do leaders and admins (DESIGN.md)
    "skills.decide": {"POST": COACH_A},
    "skills.index": {"GET": SIGNED_IN},
    "skills.matrix": {"GET": POD_A},  # its members, its coaches, leaders and admins
    "skills.propose": {"POST": frozenset({"agent_a"})},  # a current member proposes their own level
    "skills.retire_skill": {"POST": COACH_A},
    "skills.set_level": {"POST": COACH_A},
    "standups.board": {"GET": POD_A | {"coach_b"}},  # coaches read every pod's board; agents their own
    "standups.handle_blocker": {"POST": COACH_A},  # resolve or escalate: the blocker's owner (a bystander here) or the coach
    "standups.history": {"GET": POD_A | {"coach_b"}},
    "standups.index": {"GET": SIGNED_IN},
    "standups.live": {"GET": POD_A | {"coach_b"}},
    "standups.pod_board": {"GET": POD_A | {"coach_b"}},
    "standups.raise_blocker": {"POST": frozenset({"agent_a", "coach_a"})},
    "standups.save_entry": {"POST": frozenset({"agent_a", "coach_a"})},
    "standups.settings": {"POST": COACH_A},
    "standups.walk": {"POST": COACH_A},
}


def _resolve(ids: dict, rule) -> str | None:
    url = rule.rule
    query = ids.get((rule.endpoint, "?"), "")
    for name in rule.arguments:
        value = ids.get((rule.endpoint, name), ids.get(name))
        if value is None:
            return None
        url = re.sub(r"<[^>]*\b" + name + ">", str(value), url)
    return f"{url}?{query}" if query else url


@pytest.fixture
def world(app, quick_password_hashes):
    load_demo_snapshot()
    now = utcnow()
    coach = db.session.scalar(select(User).where(User.email == COACH_EMAIL))
    pod_a = db.session.scalar(select(pod_coaches.c.pod_id).where(pod_coaches.c.user_id == coach.id))
    agent = db.session.scalar(select(User).where(User.email == AGENT_EMAIL))
    other_pod = db.session.scalar(select(Pod.id).where(Pod.id != pod_a, Pod.active).order_by(Pod.id))
    coach_b = db.session.scalar(select(User).join(pod_coaches, pod_coaches.c.user_id == User.id).where(
        pod_coaches.c.pod_id == other_pod, User.id.not_in(
            select(pod_coaches.c.user_id).where(pod_coaches.c.pod_id == pod_a))))
    agent_b = db.session.scalar(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.pod_id == other_pod, Membership.current(now.date()), User.role == Role.AGENT.value,
        User.id.not_in(select(Membership.user_id).where(Membership.pod_id == pod_a))))
    bystander = db.session.scalar(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.pod_id == pod_a, Membership.current(now.date()), User.role == Role.AGENT.value,
        User.id != agent.id).order_by(User.id))
    membership = db.session.scalar(select(Membership.id).where(Membership.user_id == bystander.id,
                                                               Membership.pod_id == pod_a))
    retro = db.session.scalar(select(Retro).where(Retro.pod_id == pod_a).order_by(Retro.id.desc()))
    closed = db.session.scalar(select(Retro.id).where(Retro.pod_id == pod_a, Retro.closed_at.is_not(None))
                               .order_by(Retro.id.desc()))
    pending_own = db.session.scalar(select(Decision.id).where(Decision.agent_id == agent.id,
                                                              Decision.status == "pending"))
    pending_other = db.session.scalar(select(Decision.id).where(Decision.pod_id == pod_a, Decision.agent_id != agent.id,
                                                                Decision.status == "pending"))
    review = db.session.scalar(select(Review).where(Review.pod_id == pod_a, Review.status == "draft"))
    objective = db.session.scalar(select(Objective.id).where(Objective.review_id == review.id))
    ids = {
        "pod_id": pod_a, "retro_id": retro.id, "user_id": bystander.id, "membership_id": membership,
        "card_id": db.session.scalar(select(RetroCard.id).where(RetroCard.retro_id == retro.id)),
        "group_id": db.session.scalar(select(RetroGroup.id).where(RetroGroup.retro_id == retro.id)),
        "action_id": db.session.scalar(select(RetroAction.id).where(RetroAction.pod_id == pod_a)),
        "template_id": db.session.scalar(select(RetroTemplate.id).where(RetroTemplate.pod_id == pod_a)),
        "board_id": db.session.scalar(select(StandupBoard.id).where(StandupBoard.pod_id == pod_a)
                                      .order_by(StandupBoard.day.desc())),
        "blocker_id": db.session.scalar(select(Blocker.id).where(Blocker.pod_id == pod_a, Blocker.status == "open",
                                                                 Blocker.owner_id != agent.id).order_by(Blocker.id)),
        "decision_id": db.session.scalar(select(Decision.id).where(Decision.pod_id == pod_a,
                                                                   Decision.agent_id != agent.id).order_by(Decision.id)),
        "limit_id": db.session.scalar(select(Limit.id).order_by(Limit.id)),
        "proposal_id": db.session.scalar(select(Proposal.id).order_by(Proposal.id)),
        "review_id": review.id, "objective_id": objective,
        "pilot_id": db.session.scalar(select(Pilot.id).where(Pilot.pod_id == pod_a).order_by(Pilot.id)),
        "kr_id": db.session.scalar(select(KeyResult.id).where(KeyResult.objective_id == objective)),
        "recognition_id": db.session.scalar(select(Recognition.id).where(Recognition.pod_id == pod_a)),
        "import_id": db.session.scalar(select(Import.id)),
        "mapping_id": db.session.scalar(select(ValueMapping.id)),
        "token_id": db.session.scalar(select(ApiToken.id)),
        "notification_id": db.session.scalar(select(Notification.id).where(Notification.user_id == agent.id)),
        "segment_id": db.session.scalar(select(Segment.id).order_by(Segment.id)),
        "stage_id": db.session.scalar(select(LifecycleStage.id).order_by(LifecycleStage.id)),
        "kind": "segments", "verdict": "approve", "action": "next",
        ("org.ordered_form", "item_id"): db.session.scalar(select(Segment.id).order_by(Segment.id)),
        ("org.ordered_move", "item_id"): db.session.scalar(select(Segment.id).order_by(Segment.id)),
        ("autonomy.save_action_type", "item_id"): db.session.scalar(select(ActionType.id).order_by(ActionType.id)),
        ("autonomy.decide_proposal", "verdict"): "dismiss",
        ("skills.decide", "proposal_id"): db.session.scalar(
            select(SkillProposal.id).where(SkillProposal.pod_id == pod_a, SkillProposal.status == "pending")
            .order_by(SkillProposal.id)),
        ("skills.retire_skill", "skill_id"): db.session.scalar(
            select(PodSkill.id).where(PodSkill.pod_id == pod_a).order_by(PodSkill.id)),
        ("recognition.new", "?"): f"pod={pod_a}",
        ("outcomes.case_list", "?"): f"metric=fcr&pod_id={pod_a}&start=2026-01-01&end=2026-12-31",
        ("retros.export_csv", "retro_id"): closed, ("retros.export_markdown", "retro_id"): closed,
        ("retros.summary", "retro_id"): closed,
        ("autonomy.resolve", "decision_id"): pending_other, ("autonomy.cancel_decision", "decision_id"): pending_own,
    }
    people = {"agent_b": agent_b.email, "coach_b": coach_b.email, "agent_a": AGENT_EMAIL, "coach_a": COACH_EMAIL,
              "leader": LEADER_EMAIL, "admin": ADMIN_EMAIL}
    return ids, people


def _allowed(method: str, response) -> bool:
    code = response.status_code
    if code in (301, 302, 303, 307, 308):
        return "/login" not in response.headers.get("Location", "")
    if method == "GET":
        return code < 300
    return code not in (401, 403, 404) and code < 500


# Routes whose allowed write deletes the object they name: the row is put back, so each identity meets it.
CONSUMED = {("retros.delete_template", "POST"): (RetroTemplate, "template_id")}
_SNAPSHOTS: dict = {}


def _restore(model) -> None:
    row = _SNAPSHOTS[model]
    if db.session.get(model, row["id"]) is None:
        db.session.execute(model.__table__.insert().values(**row))
        db.session.commit()


def _snapshot(ids) -> None:
    for model, id_key in CONSUMED.values():
        ident = ids.get(id_key)  # as _resolve reads it
        if ident is not None:
            _SNAPSHOTS[model] = dict(db.session.execute(
                select(model.__table__).where(model.__table__.c.id == ident)).mappings().one())


def _observe(app, client, world) -> tuple[dict, list]:
    ids, people = world
    _snapshot(ids)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIP]
    observed: dict[tuple[str, str], set] = {}
    errors = []
    for who in IDENTITIES:
        client.post("/logout")
        if who != "anon":
            assert client.post("/login", data={"email": people[who], "password": "podium-demo"}).status_code in (
                302, 303), who
        for method in ("GET", "POST"):  # reads first: writes below may change what a read finds
            for rule in sorted(rules, key=lambda r: r.rule):
                if method not in rule.methods:
                    continue
                url = _resolve(ids, rule)
                if url is None:
                    continue
                refresh()
                response = client.open(url, method=method, data={} if method == "POST" else None)
                db.session.rollback()
                if response.status_code >= 500:
                    errors.append((who, method, url, response.status_code))
                key = (rule.endpoint, method)
                observed.setdefault(key, set())
                if _allowed(method, response):
                    observed[key].add(who)
                    if key in CONSUMED:  # the write deleted its object: put it back for the next identity
                        _restore(CONSUMED[key][0])
    return observed, errors


def test_every_route_has_an_entry(app):
    missing = sorted({f"{rule.endpoint} {method}" for rule in app.url_map.iter_rules() if rule.endpoint not in SKIP
                      for method in rule.methods - {"HEAD", "OPTIONS"}
                      if method not in MATRIX.get(rule.endpoint, {})})
    assert missing == [], "add these routes to MATRIX with the identities allowed"


def test_the_server_enforces_the_matrix(app, client, world):
    observed, errors = _observe(app, client, world)
    assert errors == []
    wrong = []
    for (endpoint, method), allowed in sorted(observed.items()):
        expected = MATRIX.get(endpoint, {}).get(method)
        if expected is not None and set(expected) != allowed:
            wrong.append((endpoint, method, "allowed:", sorted(allowed), "expected:", sorted(expected)))
    print(f"permission matrix: {len(observed)} route/method pairs x {len(IDENTITIES)} identities")
    assert wrong == [], "\n".join(map(str, wrong))
