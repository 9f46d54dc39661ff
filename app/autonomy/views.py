"""Autonomy pages: my autonomy and ledger, the approval queue, limits and proposals, accountability, catalog."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.autonomy import bp, models
from app.autonomy import services as svc
from app.autonomy.forms import (
    ActionTypeForm,
    DecisionForm,
    LimitForm,
    ProposalVerdictForm,
    ReasonForm,
    SettingsForm,
    VerdictForm,
    checked,
)
from app.autonomy.models import ActionType, Decision, Limit, LimitVersion, Period, Proposal, Unit
from app.errors import refused_on
from app.extensions import db
from app.forms import arg_int, parse_int
from app.htmx import answer_change
from app.org.models import LifecycleStage, Membership, Pod, Role, Segment, User
from app.outcomes import metrics
from app.outcomes.models import REQUEST_TYPES
from app.permissions import authorize, can, require
from app.timeutil import to_local, utcnow

# The macros in templates/autonomy/_macros.html name units, scopes, periods and statuses from their enums.
for _enum in (models.DecisionStatus, models.Period, models.ScopeLevel, models.Unit):
    bp.add_app_template_global(_enum, _enum.__name__)

LEDGER_ROWS = 100
WINDOW_CHOICES = (30, 90, 180)


def _amount(raw: str | None, unit: str, *, required: bool) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        if required:
            raise svc.AutonomyError(_l("Enter the maximum per case."))
        return None
    if raw in ("0", "0.00", "0,00"):
        return 0
    return svc.parse_amount(raw, unit)


def _choices() -> dict:
    return {
        "action_types": svc.action_types(),
        "segments": list(db.session.scalars(select(Segment).where(Segment.active).order_by(Segment.position))),
        "stages": list(db.session.scalars(select(LifecycleStage).where(LifecycleStage.active)
                                          .order_by(LifecycleStage.position))),
        "request_types": REQUEST_TYPES,
        "currencies": svc.currencies(),
    }


# --- my autonomy and the ledger -----------------------------------------------------------------------------


def _index_context(errors: list[str] | None = None) -> dict:
    now = utcnow()
    rows = db.session.execute(svc.ledger_query(agent_id=current_user.id).limit(LEDGER_ROWS)).all()
    return {
        "allowances": svc.my_autonomy(current_user, now),
        "ledger": rows,
        "pods": svc.current_pods(current_user, to_local(now, current_user.timezone).date()),
        "errors": errors or [],
        "values": request.form if request.method == "POST" else {},
        **_choices(),
    }


@bp.route("/")
@login_required
def index():
    return render_template("autonomy/index.html", **_index_context())


@bp.route("/decisions", methods=["POST"])
@login_required
@refused_on(lambda errors: render_template("autonomy/index.html", **_index_context(errors)))
def log_decision():  # a refused decision shows the page again with what was typed
    form = checked(DecisionForm())
    action_type = db.session.get(ActionType, form.action_type_id.data or 0)
    if action_type is None or not action_type.active:
        raise svc.AutonomyError(_l("Choose an action from the list."))
    decision = svc.log_decision(
        current_user, action_type, amount=form.amount.data,
        currency=form.currency.data if action_type.unit == Unit.MONEY.value else None,
        case_ref=form.case_ref.data, customer=form.customer.data, rationale=form.rationale.data,
        pod_id=form.pod_id.data, segment_id=form.segment_id.data, stage_id=form.stage_id.data,
        request_type=form.request_type.data or None,
    )
    db.session.commit()
    if decision.within_limit:
        flash(_("Logged: within your limit, done."), "success")
    else:
        flash(_("Above your limit: sent for approval. You will be notified."), "info")
    if decision.conditions_declared:
        flash(_("Podium does not know case %(case)s: the segment, stage or request type you chose are marked as "
                "declared by you.", case=decision.case_ref), "info")
    return redirect(url_for("autonomy.index", _anchor=f"decision-{decision.id}"))


@bp.route("/decisions/<int:decision_id>")
@authorize(Decision, "autonomy.view_decision")
def decision_detail(decision: Decision):
    return render_template("autonomy/decision.html", d=decision, pod=db.session.get(Pod, decision.pod_id or 0),
                           may_decide=can(current_user, "autonomy.approve", decision), now=utcnow())


@bp.route("/decisions/<int:decision_id>/cancel", methods=["POST"])
@authorize(Decision, "autonomy.view_decision")
def cancel_decision(decision: Decision):
    svc.cancel_decision(current_user, decision)
    db.session.commit()
    flash(_("Request withdrawn."), "success")
    return redirect(url_for("autonomy.index"))


@bp.route("/decisions/<int:decision_id>/<any(approve, reject):verdict>", methods=["POST"])
@authorize(Decision, "autonomy.view_decision")
def resolve(decision: Decision, verdict: str):
    form = checked(VerdictForm())
    svc.resolve_decision(current_user, decision, approve=verdict == "approve", comment=form.comment.data)
    message = _("Approved.") if verdict == "approve" else _("Rejected.")
    back = (url_for("autonomy.decision_detail", decision_id=decision.id) if form.next.data == "detail"
            else url_for("autonomy.queue"))
    return answer_change(lambda: render_template("autonomy/_queue_done.html", d=decision, message=message),
                         message, back)


@bp.route("/queue")
@login_required
def queue():
    require("autonomy.use_queue")
    now = utcnow()
    rows = svc.pending_for(current_user)
    pods = {p.id: p for p in db.session.scalars(select(Pod).where(Pod.id.in_({r.pod_id for r in rows if r.pod_id})))}
    return render_template("autonomy/queue.html", rows=rows, pods=pods, now=now)


# --- limits and proposals ------------------------------------------------------------------------------------


def _limits_context(errors: list[str] | None = None) -> dict:
    table = svc.limit_table()
    pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.name)))
    people = list(db.session.scalars(select(User).where(User.active).order_by(User.display_name)))
    coached = svc.coached_pod_ids(current_user)
    if not can(current_user, "autonomy.set_limits"):
        today = utcnow().date()
        allowed = svc.members_of(coached, today)
        pods = [p for p in pods if p.id in coached]
        people = [u for u in people if u.id in allowed]
    return {
        "table": table, "pods": pods, "people": people, "pod_names": {p.id: p.name for p in
                                                                       db.session.scalars(select(Pod))},
        "people_names": {u.id: u.display_name for u in db.session.scalars(select(User))},
        "catalog": {a.id: a for a in svc.action_types(active_only=False)},
        "segment_names": {s.id: s.name for s in db.session.scalars(select(Segment))},
        "stage_names": {s.id: s.name for s in db.session.scalars(select(LifecycleStage))},
        "errors": errors or [], "values": request.form if request.method == "POST" else {},
        "may_set": can(current_user, "autonomy.set_limits"), "periods": [p.value for p in Period],
        "roles": [r.value for r in Role], **_choices(),
    }


@bp.route("/limits")
@login_required
def limits():
    require("autonomy.view_limits")
    return render_template("autonomy/limits.html", **_limits_context())


def _limit_values(form: LimitForm, unit: str) -> svc.LimitInput:
    return svc.LimitInput(
        per_case_max=_amount(form.per_case_max.data, unit, required=True),
        period=form.period.data or None,
        period_cap=_amount(form.period_cap.data, unit, required=False),
        customer_cap=_amount(form.customer_cap.data, unit, required=False),
        approver_role=form.approver_role.data or "coach",
    )


@bp.route("/limits", methods=["POST"])
@login_required
@refused_on(lambda errors: render_template("autonomy/limits.html", **_limits_context(errors)))
def save_limit():  # a refused limit shows the page again with what was typed
    require("autonomy.propose")
    form = checked(LimitForm())
    action_type = db.session.get(ActionType, form.action_type_id.data or 0)
    if action_type is None:
        raise svc.AutonomyError(_l("Choose an action from the list."))
    level = form.level.data or ""
    values = _limit_values(form, action_type.unit)
    scope = {
        "role": (form.role.data or None) if level == "role" else None,
        "pod_id": form.pod_id.data if level == "pod" else None,
        "agent_id": form.agent_id.data if level == "agent" else None,
    }
    if can(current_user, "autonomy.set_limits"):
        svc.set_limit(current_user, action_type, level=level, **scope, segment_id=form.segment_id.data,
                      stage_id=form.stage_id.data, request_type=form.request_type.data or None,
                      values=values, reason=form.reason.data)
        message = _("Limit saved as a new version.")
    else:
        svc.propose_change(current_user, action_type, level=level, pod_id=scope["pod_id"],
                           agent_id=scope["agent_id"], values=values, reason=form.reason.data)
        message = _("Proposal sent to the leaders.")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("autonomy.limits"))


@bp.route("/limits/<int:limit_id>")
@authorize(Limit, "autonomy.view_limits")
def limit_history(limit: Limit):
    versions = list(db.session.scalars(select(LimitVersion).where(LimitVersion.limit_id == limit.id)
                                       .options(joinedload(LimitVersion.created_by))
                                       .order_by(LimitVersion.number.desc())))
    used = dict(db.session.execute(select(Decision.limit_version_id, func.count())
                                   .where(Decision.limit_version_id.in_([v.id for v in versions]))
                                   .group_by(Decision.limit_version_id)).all())
    return render_template("autonomy/limit.html", limit=limit, versions=versions, used=used,
                           pod=db.session.get(Pod, limit.pod_id or 0), agent=db.session.get(User, limit.agent_id or 0),
                           segment=db.session.get(Segment, limit.segment_id or 0),
                           stage=db.session.get(LifecycleStage, limit.stage_id or 0))


@bp.route("/limits/<int:limit_id>/retire", methods=["POST"])
@authorize(Limit, "autonomy.set_limits")
def retire_limit(limit: Limit):
    svc.retire_limit(current_user, limit, checked(ReasonForm()).reason.data)
    db.session.commit()
    flash(_("Limit removed; its history stays."), "success")
    return redirect(url_for("autonomy.limit_history", limit_id=limit.id))


@bp.route("/proposals")
@login_required
def proposals():
    require("autonomy.propose")
    may_decide = can(current_user, "autonomy.set_limits")
    items = svc.open_proposals()
    if not may_decide:
        items = [p for p in items if p.proposed_by_id == current_user.id]
    recent = list(db.session.scalars(
        select(Proposal).where(Proposal.status != "open").options(joinedload(Proposal.action_type),
                                                                  joinedload(Proposal.agent))
        .order_by(Proposal.decided_at.desc()).limit(20)))
    if not may_decide:
        recent = [p for p in recent if p.proposed_by_id == current_user.id]
    pods = {p.id: p.name for p in db.session.scalars(select(Pod))}
    return render_template("autonomy/proposals.html", items=items, recent=recent, pods=pods,
                           may_decide=may_decide)


@bp.route("/proposals/<int:proposal_id>/<any(accept, dismiss):verdict>", methods=["POST"])
@authorize(Proposal, "autonomy.set_limits")
def decide_proposal(proposal: Proposal, verdict: str):
    form = checked(ProposalVerdictForm())
    if verdict == "accept":
        value = _amount(form.per_case_max.data, proposal.action_type.unit, required=False)
        svc.accept_proposal(current_user, proposal, per_case_max=value, comment=form.comment.data)
    else:
        svc.dismiss_proposal(current_user, proposal, comment=form.comment.data)
    db.session.commit()
    flash(_("Accepted: the limit has a new version.") if verdict == "accept" else _("Dismissed."), "success")
    return redirect(url_for("autonomy.proposals"))


# --- accountability -------------------------------------------------------------------------------------------


@bp.route("/accountability")
@login_required
def accountability():
    now = utcnow()
    days = parse_int(request.args.get("days"))  # a window is a choice: anything else shows the default
    if days not in WINDOW_CHOICES:
        days = 90
    pod_id = arg_int("pod_id")
    agent_id = arg_int("agent_id")
    coached = svc.coached_pod_ids(current_user)
    if pod_id is None and agent_id is None:
        if current_user.has_role(Role.LEADER) or coached:
            pod_id = min(coached) if coached and not current_user.has_role(Role.LEADER) else None
        if pod_id is None and not current_user.has_role(Role.LEADER):
            agent_id = current_user.id
    if pod_id is not None:
        if db.session.get(Pod, pod_id) is None:
            abort(404)
        require("autonomy.view_pod", pod_id)
    if agent_id is not None:
        if db.session.get(User, agent_id) is None:
            abort(404)
        require("autonomy.view_agent", agent_id)
    start = now - timedelta(days=days)
    first, last = start.date(), now.date()
    codes = ["autonomy_rate", "csat", "reopen_rate"]
    by_pod = {}
    pods = []
    if pod_id is None and agent_id is None:  # a leader's overview: every pod side by side
        pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.name)))
        by_pod = metrics.compute_by("pod", first, last, codes=codes)
        figures = metrics.compute(first, last, codes=codes)
    else:
        figures = metrics.compute(first, last, metrics.Scope(pod_id=pod_id, agent_id=agent_id), codes=codes)
    rows = db.session.execute(svc.ledger_query(agent_id=agent_id, pod_id=pod_id, start=start, end=now)
                              .limit(LEDGER_ROWS)).all()
    summary = svc.ledger_summary(agent_id=agent_id, pod_id=pod_id, start=start, end=now)
    members = []
    if pod_id is not None:
        # Everyone who was in the pod during the period shown, so decisions by someone who has since left (or
        # moved) stay attributable; the other member lists show who is in the pod today.
        members = list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
            Membership.pod_id == pod_id, Membership.overlapping(start.date(), now.date()))
            .distinct().order_by(User.display_name)))
    visible_pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.name)))
    if not current_user.has_role(Role.LEADER):
        visible_pods = [p for p in visible_pods if p.id in coached]
    return render_template(
        "autonomy/accountability.html", rows=rows, summary=summary, figures=figures, metrics=metrics,
        pod=db.session.get(Pod, pod_id or 0), agent=db.session.get(User, agent_id or 0), days=days,
        windows=WINDOW_CHOICES, members=members, visible_pods=visible_pods, pods=pods, by_pod=by_pod,
    )


# --- admin: the action type catalog and settings -------------------------------------------------------------


def _catalog_page(errors: list[str] | None = None, values=None, editing: int | None = None):
    return render_template("autonomy/action_types.html", items=svc.action_types(active_only=False),
                           settings=svc.get_settings(), currencies=svc.currencies(), errors=errors or [],
                           values=values or {}, editing=editing)


@bp.route("/action-types")
@login_required
def action_type_list():
    require("autonomy.manage_catalog")
    return _catalog_page()


@bp.route("/action-types", methods=["POST"])
@bp.route("/action-types/<int:item_id>", methods=["POST"])
@login_required
@refused_on(lambda errors: _catalog_page(errors, request.form, (request.view_args or {}).get("item_id")))
def save_action_type(item_id: int | None = None):  # a refused edit shows the catalog again with what was typed
    require("autonomy.manage_catalog")
    item = db.get_or_404(ActionType, item_id) if item_id is not None else None
    form = checked(ActionTypeForm())
    svc.save_action_type(
        current_user, item, code=form.code.data, name=form.name.data, unit=form.unit.data or "",
        currency=form.currency.data, description=form.description.data, position=form.position.data or 0,
        active=form.active.data, names={"es": form.name_es.data, "it": form.name_it.data},
    )
    db.session.commit()
    flash(_("Action type saved."), "success")
    return redirect(url_for("autonomy.action_type_list"))


@bp.route("/settings", methods=["POST"])
@login_required
@refused_on(lambda errors: _catalog_page(errors))
def save_settings():  # a refused setting shows the catalog page again
    require("autonomy.manage_catalog")
    form = checked(SettingsForm())
    hours, start, end = form.escalation_hours.data, form.workday_start_hour.data, form.workday_end_hour.data
    if hours is None or start is None or end is None or not start < end:
        raise svc.AutonomyError(_l("Escalate after 1 to 80 working hours; the working day starts before it ends."))
    settings = svc.get_settings()
    settings.escalation_hours, settings.workday_start_hour, settings.workday_end_hour = hours, start, end
    db.session.commit()
    flash(_("Autonomy settings saved."), "success")
    return redirect(url_for("autonomy.action_type_list"))
