"""My day: what the signed-in person needs first, by role; and the health check."""

from flask import jsonify, render_template
from flask_login import current_user, login_required
from sqlalchemy import text

from app.extension_points import home_sections_for
from app.extensions import db, limiter
from app.main import bp
from app.org import services as org
from app.org.models import Role
from app.timeutil import utcnow


@bp.route("/")
@login_required
def home():
    today = utcnow().date()
    pods = org.pods_of_user(current_user, today)
    pod_ids = [p.id for p in pods]
    members = org.current_members_by_pod(pod_ids, today)
    coaches = org.coaches_by_pod(pod_ids)
    coverage = org.coverage_by_pod(pod_ids)
    matrix = org.coverage_matrix() if current_user.has_role(Role.LEADER) else None
    return render_template("main/home.html", pods=pods, members=members, coaches=coaches, coverage=coverage,
                           matrix=matrix, today=today, home_sections=home_sections_for(current_user, today))


@bp.route("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
