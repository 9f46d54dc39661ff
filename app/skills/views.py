"""Skills matrix pages: read the matrix, set levels (coach), propose one's own (member), confirm or decline
proposals, add and retire skills. Refused rules raise ``SkillError``; the app's one handler answers."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from app import permissions as P
from app.extensions import db
from app.forms import EmptyForm, validated
from app.htmx import answer_change, render_page_or_fragment
from app.org.models import Pod, Role
from app.permissions import authorize, can
from app.skills import bp, services
from app.skills.access import PROPOSE, SET, VIEW
from app.skills.forms import DecideForm, LevelForm, ProposeForm, SkillForm


def _validated(form: FlaskForm) -> FlaskForm:
    return validated(form, services.SkillError)


def _visible_pods() -> list[Pod]:
    stmt = select(Pod).where(Pod.active).order_by(Pod.name)
    if not current_user.has_role(Role.LEADER):
        relations = P.pod_relations(current_user)
        ids = relations.member_of | (relations.coached if current_user.has_role(Role.COACH) else set())
        stmt = stmt.where(Pod.id.in_(ids or {-1}))
    return list(db.session.scalars(stmt))


@bp.route("/skills/")
@login_required
def index():
    pods = _visible_pods()
    if len(pods) == 1:
        return redirect(url_for("skills.matrix", pod_id=pods[0].id))
    return render_template("skills/index.html", pods=pods)


def _render(pod: Pod):
    data = services.matrix(pod)
    context = {"pod": pod, "m": data, "may_set": can(current_user, SET, pod),
               "may_propose": can(current_user, PROPOSE, pod), "skill_form": SkillForm(formdata=None),
               "levels": services.level_choices(), "kind_labels": services.KIND_LABELS}
    return render_page_or_fragment("skills/matrix.html", "skills/_matrix.html", **context)


@bp.route("/pods/<int:pod_id>/skills")
@authorize(Pod, VIEW, "pod_id")
def matrix(pod: Pod):
    return _render(pod)


def _done(pod: Pod, message: str):
    return answer_change(lambda: _render(pod), message, url_for("skills.matrix", pod_id=pod.id))


@bp.route("/pods/<int:pod_id>/skills/levels", methods=["POST"])
@authorize(Pod, SET, "pod_id")
def set_level(pod: Pod):
    form = _validated(LevelForm())
    services.set_level(current_user, pod, form.user_id.data, form.skill.data, form.level.data)
    return _done(pod, _("Level saved."))


@bp.route("/pods/<int:pod_id>/skills/proposals", methods=["POST"])
@authorize(Pod, PROPOSE, "pod_id")
def propose(pod: Pod):
    form = _validated(ProposeForm())
    services.propose_level(current_user, pod, form.skill.data, form.level.data)
    return _done(pod, _("Proposal sent to your coach."))


@bp.route("/pods/<int:pod_id>/skills/proposals/<int:proposal_id>", methods=["POST"])
@authorize(Pod, SET, "pod_id")
def decide(pod: Pod, proposal_id: int):
    form = _validated(DecideForm())
    confirm = form.verdict.data == "confirm"
    services.decide_proposal(current_user, pod, proposal_id, confirm)
    return _done(pod, _("Proposal confirmed.") if confirm else _("Proposal declined."))


@bp.route("/pods/<int:pod_id>/skills/custom", methods=["POST"])
@authorize(Pod, SET, "pod_id")
def add_skill(pod: Pod):
    form = _validated(SkillForm())
    services.add_skill(current_user, pod, form.name.data)
    return _done(pod, _("Skill added."))


@bp.route("/pods/<int:pod_id>/skills/custom/<int:skill_id>/retire", methods=["POST"])
@authorize(Pod, SET, "pod_id")
def retire_skill(pod: Pod, skill_id: int):
    _validated(EmptyForm())
    services.retire_skill(current_user, pod, skill_id)
    return _done(pod, _("Skill removed from the matrix; its history is kept."))
