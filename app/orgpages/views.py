"""Pods, the coverage matrix and the admin pages for people, segments, stages and settings."""

from __future__ import annotations

from datetime import time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app import permissions as P
from app.errors import show_refusals_on
from app.extension_points import coverage_notes_for
from app.extensions import db
from app.forms import EmptyForm, form_int
from app.htmx import answer_change, is_htmx
from app.org import services as org
from app.org.forms import (
    CoverageForm,
    EndMembershipForm,
    MemberForm,
    MembershipEditForm,
    OrderedItemForm,
    OrganisationForm,
    PodForm,
    UserForm,
)
from app.org.models import LifecycleStage, Membership, Pod, Role, Segment, User
from app.orgpages import bp
from app.timeutil import timezone_choices, utcnow


def _save_and_redirect(form, save, field, message, target, page):
    """The create/edit pages: when the form validates, save, commit, say ``message(saved)`` and go to ``target``;
    otherwise ``page()``, the form again. A rule the service refuses (a name or e-mail taken) goes back onto the
    form's ``field``: the one ServiceError handler rolls back and shows ``page()`` with it."""
    if not form.validate_on_submit():
        return page()

    def refused(errors: list[str]):
        field.errors = [*field.errors, *errors]
        return page()

    show_refusals_on(refused)
    saved = save()
    return answer_change(None, message(saved), target if isinstance(target, str) else target(saved))


def _form_status() -> int:
    return 400 if request.method == "POST" else 200


# --- pods -----------------------------------------------------------------------------------------


@bp.route("/pods")
@login_required
def pod_list():
    today = utcnow().date()
    pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.name)))
    ids = [p.id for p in pods]
    return render_template(
        "org/pods.html",
        pods=pods,
        members=org.current_members_by_pod(ids, today),
        coaches=org.coaches_by_pod(ids),
        coverage=org.coverage_by_pod(ids),
    )


def _coach_candidates() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.active, User.role.in_(["coach", "leader", "admin"])).order_by(User.display_name)
        )
    )


def _pod_form(pod: Pod | None) -> PodForm:
    form = PodForm(obj=pod)
    form.coaches.choices = [(u.id, u.display_name) for u in _coach_candidates()]
    if request.method == "GET":
        if pod is not None:
            form.working_days.data = list(pod.working_days)
            form.coaches.data = [c.id for c in pod.coaches]
        else:
            form.standup_time.data = time(9, 30)
    return form


def _save_pod_from(form: PodForm, pod: Pod | None) -> Pod:
    saved = org.save_pod(
        current_user, pod, name=form.name.data, mission=form.mission.data or "", timezone=form.timezone.data,
        standup_time=form.standup_time.data, working_days=form.working_days.data,
    )
    if P.can(current_user, P.CREATE_POD):
        coaches = list(db.session.scalars(select(User).where(User.id.in_(form.coaches.data or []))))
        org.set_pod_coaches(current_user, saved, coaches)
    return saved


@bp.route("/pods/new", methods=["GET", "POST"])
@login_required
def new_pod():
    P.require(P.CREATE_POD)
    return _pod_form_page(None)


def _pod_form_page(pod: Pod | None):
    """Create (``pod`` None) or edit a pod; a refused name shows on the form again with a 400."""
    form = _pod_form(pod)
    return _save_and_redirect(
        form, lambda: _save_pod_from(form, pod), form.name,
        lambda saved: _("Pod %(name)s created.", name=saved.name) if pod is None
        else _("Pod %(name)s saved.", name=saved.name),
        lambda saved: url_for("org.pod_detail", pod_id=saved.id),
        lambda: (render_template("org/pod_form.html", form=form, pod=pod, timezones=timezone_choices()),
                 _form_status()))


@bp.route("/pods/<int:pod_id>")
@login_required
@P.authorize(Pod, P.VIEW_POD)
def pod_detail(pod: Pod):
    return _pod_page(pod)


def _pod_page(pod: Pod, posted_member_form: MemberForm | None = None, status: int = 200):
    """The pod page; after a refused membership form it shows again with the errors and a 422."""
    today = utcnow().date()
    history = list(
        db.session.scalars(
            select(Membership).join(User).where(Membership.pod_id == pod.id)
            .order_by(Membership.end_date.is_(None).desc(), User.display_name)
            .options(joinedload(Membership.user))
        )
    )
    current = [m for m in history if m.is_current(today)]
    past = [m for m in history if not m.is_current(today)]
    member_form, changes = None, []
    if P.can(current_user, P.MANAGE_MEMBERS, pod):
        member_form = _member_form(pod, today, posted_member_form)
        changes = org.membership_changes(pod)
    return render_template(
        "org/pod.html",
        pod=pod,
        current=current,
        past=past,
        coaches=org.coaches_by_pod([pod.id])[pod.id],
        coverage=org.coverage_by_pod([pod.id])[pod.id],
        member_form=member_form,
        end_form=EndMembershipForm(formdata=None, end_date=today),
        edit_form=MembershipEditForm(formdata=None),
        changes=changes,
        today=today,
    ), status


def _member_form(pod: Pod, today, posted: MemberForm | None = None) -> MemberForm:
    form = posted or MemberForm(formdata=None)
    people = org.enrollable_people(current_user, pod, today)
    form.user_id.choices = [(u.id, f"{u.display_name} <{u.email}>") for u in people]
    if form.start_date.data is None and not form.start_date.errors:
        form.start_date.data = today
    return form


def _refused_form(pod: Pod, form, member_form: MemberForm | None = None):
    """A membership form that did not validate: its errors as messages on the pod page, answered 422."""
    if member_form is None:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return _pod_page(pod, member_form, 422)


@bp.route("/pods/<int:pod_id>/edit", methods=["GET", "POST"])
@login_required
@P.authorize(Pod, P.EDIT_POD)
def edit_pod(pod: Pod):
    return _pod_form_page(pod)


@bp.route("/pods/<int:pod_id>/members", methods=["POST"])
@login_required
@P.authorize(Pod, P.MANAGE_MEMBERS)
def add_member(pod: Pod):
    form = MemberForm()  # who may be added is the service's rule (per role), not the list's
    if not form.validate_on_submit():
        return _refused_form(pod, form, form)
    user = db.get_or_404(User, form.user_id.data)
    org.add_member(current_user, pod, user, start=form.start_date.data, profile=form.profile.data,
                   skills=form.skills.data or "")
    return answer_change(None, _("%(name)s joined %(pod)s.", name=user.display_name, pod=pod.name),
                         url_for("org.pod_detail", pod_id=pod.id))


def _membership(pod_id: int, membership_id: int) -> tuple[Pod, Membership]:
    pod = db.get_or_404(Pod, pod_id)
    membership = db.get_or_404(Membership, membership_id)
    if membership.pod_id != pod.id:
        abort(404)
    P.require(P.MANAGE_MEMBERS, pod)
    return pod, membership


def _change_membership(pod_id: int, membership_id: int, form_class, change):
    """A membership's buttons: load and authorise, then, when the form validates, ``change(membership, form)``
    (the service call, returning what to say), commit and go back to the pod page; else the page with the errors."""
    pod, membership = _membership(pod_id, membership_id)
    form = form_class()
    if not form.validate_on_submit():
        return _refused_form(pod, form)
    return answer_change(None, change(membership, form), url_for("org.pod_detail", pod_id=pod.id))


def _save_membership(membership: Membership, form: MembershipEditForm) -> str:
    org.update_membership(current_user, membership, profile=form.profile.data, skills=form.skills.data or "")
    return _("Membership of %(name)s saved.", name=membership.user.display_name)


def _end_membership(membership: Membership, form: EndMembershipForm) -> str:
    org.end_membership(current_user, membership, end=form.end_date.data)
    return _("%(name)s left %(pod)s.", name=membership.user.display_name, pod=membership.pod.name)


@bp.route("/pods/<int:pod_id>/members/<int:membership_id>", methods=["POST"])
@login_required
def edit_membership(pod_id: int, membership_id: int):
    return _change_membership(pod_id, membership_id, MembershipEditForm, _save_membership)


@bp.route("/pods/<int:pod_id>/members/<int:membership_id>/end", methods=["POST"])
@login_required
def end_membership(pod_id: int, membership_id: int):
    return _change_membership(pod_id, membership_id, EndMembershipForm, _end_membership)


# --- coverage -------------------------------------------------------------------------------------


def _assignable_pods() -> list[Pod]:
    """The active pods the signed-in user may put on or take off a cell: all for leaders, else those coached."""
    if not P.can(current_user, P.ASSIGN_COVERAGE):
        return []
    pods = db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.name))
    return [pod for pod in pods if P.can(current_user, P.ASSIGN_COVERAGE, pod)]


def _coverage_context() -> dict:
    pods = _assignable_pods()
    return {"editable": bool(pods), "all_pods": pods, "assignable_ids": {pod.id for pod in pods},
            "assigns_any_pod": current_user.has_role(Role.LEADER), "notes": coverage_notes_for(current_user)}


@bp.route("/coverage")
@login_required
def coverage():
    return render_template("org/coverage.html", matrix=org.coverage_matrix(), form=CoverageForm(),
                           **_coverage_context())


@bp.route("/coverage/<int:segment_id>/<int:stage_id>", methods=["POST"])
@login_required
def assign_cell(segment_id: int, stage_id: int):
    P.require(P.ASSIGN_COVERAGE)
    segment = db.get_or_404(Segment, segment_id)
    stage = db.get_or_404(LifecycleStage, stage_id)
    pod_id = form_int("pod_id", minimum=1, status=400)
    operation = request.form.get("op", "assign")
    if operation not in ("assign", "unassign"):
        abort(400)
    pod = db.get_or_404(Pod, pod_id)
    P.require(P.ASSIGN_COVERAGE, pod)
    if not (segment.active and stage.active and pod.active):
        abort(404)
    if operation == "assign":
        changed = org.assign_coverage(current_user, pod, segment, stage)
        message = _("%(pod)s now covers %(segment)s · %(stage)s.", pod=pod.name, segment=segment.name,
                    stage=stage.name)
    else:
        changed = org.unassign_coverage(current_user, pod, segment, stage)
        message = _("%(pod)s no longer covers %(segment)s · %(stage)s.", pod=pod.name, segment=segment.name,
                    stage=stage.name)
    db.session.commit()
    if not is_htmx():
        flash(message if changed else _("Nothing changed."), "success" if changed else "info")
        return redirect(url_for("org.coverage"))
    matrix = org.coverage_matrix()
    return render_template(
        "org/_coverage_update.html", cell=matrix.cell(segment.id, stage.id), matrix=matrix,
        message=message if changed else _("Nothing changed."), **_coverage_context(),
    )


# --- admin: people --------------------------------------------------------------------------------


@bp.route("/admin/users")
@login_required
def user_list():
    P.require(P.MANAGE_USERS)
    query = (request.args.get("q") or "").strip()[:100]
    role = request.args.get("role", "")
    stmt = select(User).order_by(User.active.desc(), User.display_name)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(or_(func.lower(User.display_name).like(like), User.email.like(like)))
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == role)
    users = list(db.session.scalars(stmt))
    return render_template("org/users.html", users=users, query=query, role=role)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    P.require(P.MANAGE_USERS)
    return _user_form_page(None)


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
@P.authorize(User, P.MANAGE_USERS)
def edit_user(user: User):
    return _user_form_page(user)


def _user_form_page(user: User | None):
    """Create (``user`` None) or edit an account; a refused e-mail shows on the form again with a 400."""
    form = UserForm(obj=user)
    return _save_and_redirect(
        form, lambda: _save_user_from(form, user), form.email,
        lambda saved: _("Account for %(name)s created.", name=saved.display_name) if user is None
        else _("Account of %(name)s saved.", name=saved.display_name),
        url_for("org.user_list"),
        lambda: (render_template("org/user_form.html", form=form, user=user, timezones=timezone_choices()),
                 _form_status()))


def _save_user_from(form: UserForm, user: User | None) -> User:
    fields = {"email": form.email.data, "display_name": form.display_name.data, "role": form.role.data,
              "locale": form.locale.data, "timezone": form.timezone.data}
    if user is None:
        user = org.create_user(current_user, **fields, password=form.password.data or None)
        user.active = bool(form.active.data)
        return user
    org.update_user(current_user, user, **fields, active=form.active.data)
    if form.password.data:
        org.change_password(current_user, user, form.password.data)
    return user


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["POST"])
@login_required
@P.authorize(User, P.MANAGE_USERS)
def deactivate_user(user: User):
    if not EmptyForm().validate_on_submit():
        abort(400)
    org.deactivate_user(current_user, user)
    message = _("%(name)s can no longer sign in; their sessions are ended.", name=user.display_name)
    return answer_change(None, message, url_for("org.user_list"))


@bp.route("/admin/users/<int:user_id>/reactivate", methods=["POST"])
@login_required
@P.authorize(User, P.MANAGE_USERS)
def reactivate_user(user: User):
    org.reactivate_user(current_user, user)
    return answer_change(None, _("%(name)s can sign in again.", name=user.display_name), url_for("org.user_list"))


# --- admin: segments and stages -------------------------------------------------------------------

ORDERED = {
    "segments": (Segment, org.save_segment, _l("Segments"), _l("Segment")),
    "stages": (LifecycleStage, org.save_stage, _l("Lifecycle stages"), _l("Lifecycle stage")),
}


def _ordered_kind(kind: str):
    if kind not in ORDERED:
        abort(404)
    return ORDERED[kind]


@bp.route("/admin/<any(segments, stages):kind>")
@login_required
def ordered_list(kind: str):
    P.require(P.MANAGE_ORG)
    model, _save, title, _singular = _ordered_kind(kind)
    items = list(db.session.scalars(select(model).order_by(model.position, model.id)))
    return render_template("org/ordered_list.html", kind=kind, items=items, title=title, form=CoverageForm())


@bp.route("/admin/<any(segments, stages):kind>/new", methods=["GET", "POST"])
@bp.route("/admin/<any(segments, stages):kind>/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def ordered_form(kind: str, item_id: int | None = None):
    P.require(P.MANAGE_ORG)
    model, save, title, singular = _ordered_kind(kind)
    item = db.get_or_404(model, item_id) if item_id is not None else None
    form = OrderedItemForm(obj=item)
    if item is None and request.method == "GET":
        form.position.data = (db.session.scalar(select(func.max(model.position))) or 0) + 1
    return _save_and_redirect(
        form, lambda: save(current_user, item, name=form.name.data, description=form.description.data or "",
                           position=form.position.data or 0, active=form.active.data),
        form.name, lambda saved: _("%(name)s saved.", name=saved.name), url_for("org.ordered_list", kind=kind),
        lambda: (render_template("org/ordered_form.html", form=form, kind=kind, item=item, title=title,
                                 singular=singular), _form_status()))


@bp.route("/admin/<any(segments, stages):kind>/<int:item_id>/move", methods=["POST"])
@login_required
def ordered_move(kind: str, item_id: int):
    P.require(P.MANAGE_ORG)
    model, *_rest = _ordered_kind(kind)
    item = db.get_or_404(model, item_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    org.move_ordered(current_user, item, -1 if direction == "up" else 1)
    db.session.commit()
    return redirect(url_for("org.ordered_list", kind=kind))


# --- admin: settings ------------------------------------------------------------------------------


@bp.route("/admin/settings", methods=["GET", "POST"])
@login_required
def settings():
    P.require(P.MANAGE_ORG)
    organisation = org.get_organisation()
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit():
        form.populate_obj(organisation)
        return answer_change(None, _("Settings saved."), url_for("org.settings"))
    return render_template("org/settings.html", form=form, timezones=timezone_choices()), _form_status()

