"""Import and mapping pages: upload an export, follow its progress, map source values, re-attribute cases."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from app import permissions as P
from app.csvexport import SafeWriter, csv_response
from app.errors import refused_on
from app.extension_points import nav_item
from app.extensions import csrf, db
from app.forms import EmptyForm, parse_int
from app.htmx import is_htmx
from app.org.models import LifecycleStage, Pod, Segment, User
from app.org.services import get_organisation
from app.outcomes import attribution, bp, import_demo, import_jobs  # noqa: F401  (import_demo registers its demo step)
from app.outcomes.forms import ImportForm, MappingForm
from app.outcomes.importers import FIELD_DEFAULTS, FORMAT_NAMES, PODIUM_COLUMNS, FileRejected, check_file
from app.outcomes.labels import REQUEST_TYPE_LABELS
from app.outcomes.models import ACTIVE_IMPORT_STATUSES, Import, ImportRowError, ImportStatus, MappingKind, ValueMapping
from app.timeutil import timezone_choices

log = logging.getLogger(__name__)

nav_item(25, "outcomes.import_list", _l("Imports"), visible=lambda user: P.can(user, P.MANAGE_IMPORTS),
         active_prefix="outcomes.import")

RECENT_IMPORTS = 20
ERRORS_SHOWN = 50
UNMAPPED_SHOWN = 50
KIND_LABELS = MappingKind.labels()
STATUS_LABELS = {
    ImportStatus.QUEUED.value: _l("Queued"),
    ImportStatus.RUNNING.value: _l("Running"),
    ImportStatus.DONE.value: _l("Done"),
    ImportStatus.FAILED.value: _l("Failed"),
    ImportStatus.CANCELLED.value: _l("Cancelled"),
}
STOP_POLLING = 286
JOB_NAMES = {**FORMAT_NAMES, import_jobs.REATTRIBUTE: _l("Re-attribution")}


def _require_imports() -> None:
    P.require(P.MANAGE_IMPORTS)


def imports_inline(app: Flask) -> bool:
    """IMPORTS_INLINE (the default under tests): run a queued job in the request that queued it."""
    return bool(app.config.get("IMPORTS_INLINE", app.testing))


def _import_form() -> ImportForm:
    form = ImportForm()
    if not form.is_submitted():
        form.timezone.data = get_organisation().timezone
    return form


def _recent_imports() -> list[tuple[Import, str | None]]:
    rows = db.session.execute(
        select(Import, User.display_name).outerjoin(User, User.id == Import.started_by_id)
        .order_by(Import.id.desc()).limit(RECENT_IMPORTS)
    ).all()
    return [(row[0], row[1]) for row in rows]


def _render_list(form: ImportForm, error: str | None = None, status: int = 200):
    defaults = {fmt: values for fmt, values in FIELD_DEFAULTS.items()}
    return render_template(
        "outcomes/imports.html", form=form, error=error, imports=_recent_imports(), status_labels=STATUS_LABELS,
        format_names=JOB_NAMES, field_defaults=defaults, timezones=timezone_choices(),
        podium_columns=PODIUM_COLUMNS,
    ), status


@bp.route("/imports")
@login_required
def import_list():
    _require_imports()
    return _render_list(_import_form())


@bp.route("/imports", methods=["POST"])
@login_required
def import_upload():
    """Check the file now (a refused file imports nothing), store it and queue its import; answer at once.

    The worker (the scheduler process) runs the job; under tests (IMPORTS_INLINE) it runs before the answer.
    """
    request.max_content_length = current_app.config["MAX_IMPORT_LENGTH"]
    _require_imports()
    form = _import_form()
    if not form.validate_on_submit():
        return _render_list(form, status=400)
    path = import_jobs.new_upload_path()
    form.file.data.save(path)
    job_options = import_jobs.JobOptions(
        segment_from=form.segment_from.data or None, stage_from=form.stage_from.data or None,
        request_type_from=form.request_type_from.data or None, locale=str(get_locale() or "en"))
    fmt = form.format.data
    try:
        total = check_file(path, fmt, job_options.parse_options(form.timezone.data))
    except FileRejected as exc:
        path.unlink(missing_ok=True)
        return _render_list(form, error=exc.message, status=400)
    filename = Path(form.file.data.filename or "upload.csv").name
    job = import_jobs.enqueue(path, fmt=fmt, timezone=form.timezone.data, filename=filename, options=job_options,
                              actor=current_user, total=total)
    import_id = job.id
    if imports_inline(current_app):
        import_jobs.run_pending_imports()
    return redirect(url_for("outcomes.import_detail", import_id=import_id), code=303)


csrf.exempt(import_upload)  # the form checks its own token, after the view has raised the upload size limit


def _get_import(import_id: int) -> Import:
    _require_imports()
    import_ = db.session.get(Import, import_id)
    if import_ is None:
        abort(404)
    return import_


@bp.route("/imports/<int:import_id>")
@login_required
def import_detail(import_id: int):
    """The import's progress and result; while it runs, htmx asks again for the status fragment."""
    import_ = _get_import(import_id)
    errors = list(db.session.scalars(
        select(ImportRowError).where(ImportRowError.import_id == import_id)
        .order_by(ImportRowError.line, ImportRowError.id).limit(ERRORS_SHOWN)
    ))
    started_by = db.session.get(User, import_.started_by_id) if import_.started_by_id else None
    running = import_.status in ACTIVE_IMPORT_STATUSES
    context = {"import_": import_, "errors": errors, "status_labels": STATUS_LABELS, "started_by": started_by,
               "format_names": JOB_NAMES, "errors_shown": ERRORS_SHOWN, "running": running,
               "cancel_form": EmptyForm()}
    template = "outcomes/_import_status.html" if is_htmx() else "outcomes/import.html"
    # htmx stops polling on 286: an ended import's fragment is the last one the page asks for.
    status = 200 if running or not is_htmx() else STOP_POLLING
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response


@bp.route("/imports/<int:import_id>/cancel", methods=["POST"])
@login_required
def import_cancel(import_id: int):
    """Cancel a queued or running import; the batches already imported stay (the message says up to which row)."""
    _get_import(import_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    if import_jobs.cancel(import_id, current_user):
        flash(_("Import cancelled."), "success")
    else:
        flash(_("The import had already ended; nothing was cancelled."), "info")
    return redirect(url_for("outcomes.import_detail", import_id=import_id), code=303)


@bp.route("/imports/<int:import_id>/errors.csv")
@login_required
def import_errors_csv(import_id: int):
    """Every row the import skipped: line number in the file, the case's id and the reason."""
    import_ = _get_import(import_id)
    header = [_("Line"), _("Case id"), _("Reason")]

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = SafeWriter(buffer)
        writer.writerow(header)
        result = db.session.execute(
            select(ImportRowError.line, ImportRowError.external_id, ImportRowError.reason)
            .where(ImportRowError.import_id == import_id).order_by(ImportRowError.line, ImportRowError.id)
            .execution_options(yield_per=2000)
        )
        for line, external_id, reason in result:
            writer.writerow([line, external_id or "", reason])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return csv_response(rows(), f"import-{import_.id}-errors.csv")


# --- mappings -------------------------------------------------------------------------------------


def _targets() -> dict[str, list[tuple[str, str]]]:
    """For each kind, the choices (value, label) a source value may map to."""
    def named(model) -> list[tuple[str, str]]:
        order = (model.position, model.name) if hasattr(model, "position") else (model.name,)
        return [(str(row[0]), row[1]) for row in db.session.execute(
            select(model.id, model.name).where(model.active.is_(True)).order_by(*order))]

    people = [(str(user_id), f"{name} <{email}>") for user_id, name, email in db.session.execute(
        select(User.id, User.display_name, User.email).where(User.active.is_(True)).order_by(User.display_name))]
    return {
        MappingKind.POD.value: named(Pod),
        MappingKind.USER.value: people,
        MappingKind.SEGMENT.value: named(Segment),
        MappingKind.STAGE.value: named(LifecycleStage),
        MappingKind.REQUEST_TYPE.value: [(code, str(label)) for code, label in REQUEST_TYPE_LABELS.items()],
    }


def _target_label(mapping: ValueMapping, labels: dict[str, dict[str, str]]) -> str:
    key = mapping.target_value if mapping.kind == MappingKind.REQUEST_TYPE.value else str(mapping.target_id)
    return labels[mapping.kind].get(key or "", _("(no longer exists)"))


def _render_mappings(form: MappingForm | None = None, error: str | None = None, status: int = 200):
    targets = _targets()
    labels = {kind: dict(choices) for kind, choices in targets.items()}
    mappings = attribution.mappings_by_kind()
    unmapped = attribution.unmapped_by_kind()
    return render_template(
        "outcomes/mappings.html", kinds=attribution.KINDS, kind_labels=KIND_LABELS, targets=targets,
        mappings=mappings, unmapped={kind: values[:UNMAPPED_SHOWN] for kind, values in unmapped.items()},
        unmapped_total={kind: len(values) for kind, values in unmapped.items()},
        target_label=lambda mapping: _target_label(mapping, labels), form=form or MappingForm(), error=error,
    ), status


@bp.route("/imports/mappings")
@login_required
def import_mappings():
    _require_imports()
    return _render_mappings()


@bp.route("/imports/mappings", methods=["POST"])
@login_required
@refused_on(lambda errors: _render_mappings(MappingForm(), errors[0], 400))
def import_mapping_save():
    _require_imports()
    form = MappingForm()
    if not form.validate_on_submit():
        return _render_mappings(form, _("Choose a value and what it means in Podium."), 400)
    kind, target = form.kind.data, form.target.data
    target_id: int | None = None
    target_value: str | None = None
    if kind == MappingKind.REQUEST_TYPE.value:
        target_value = target
    elif parse_int(target, minimum=1) is not None:
        target_id = parse_int(target, minimum=1)
    else:
        raise attribution.MappingError("unknown_target")
    attribution.save_mapping(current_user, kind, form.source_value.data, target_id=target_id,
                             target_value=target_value)
    db.session.commit()
    flash(_("Mapping saved. Re-attribute the cases to apply it to the cases already imported."), "success")
    return redirect(url_for("outcomes.import_mappings", _anchor=f"mappings-{kind}"), code=303)


@bp.route("/imports/mappings/<int:mapping_id>/delete", methods=["POST"])
@login_required
def import_mapping_delete(mapping_id: int):
    _require_imports()
    mapping = db.session.get(ValueMapping, mapping_id)
    if mapping is None:
        abort(404)
    kind = mapping.kind
    attribution.delete_mapping(current_user, mapping)
    db.session.commit()
    flash(_("Mapping removed. Re-attribute the cases to apply the change."), "success")
    return redirect(url_for("outcomes.import_mappings", _anchor=f"mappings-{kind}"), code=303)


@bp.route("/imports/mappings/reattribute", methods=["POST"])
@login_required
def import_reattribute():
    """Apply the current mappings and coverage to every case already imported, without importing again.

    Queued as a durable job (the worker runs it, and another one starts it again if its worker dies); under
    tests (IMPORTS_INLINE) it runs before the answer.
    """
    _require_imports()
    job = import_jobs.enqueue_reattribution(current_user, str(get_locale() or "en"))
    job_id = job.id
    if imports_inline(current_app):
        import_jobs.run_pending_imports()
        db.session.expire_all()
        job = db.session.get(Import, job_id)
        flash(_("Cases re-attributed: %(count)d changed.", count=job.rows_updated), "success")
    else:
        flash(_("Re-attribution started; the figures follow the new mappings in a minute or two."), "success")
    return redirect(url_for("outcomes.import_mappings"), code=303)
