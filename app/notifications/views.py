"""The bell, the notification list, and opening or marking notifications read."""

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth.services import is_safe_next
from app.extensions import db
from app.forms import arg_int
from app.htmx import is_htmx
from app.notifications import bp
from app.notifications import services as notes
from app.notifications.models import Notification

PAGE_SIZE = 50
MAX_PAGE = 10_000


@bp.route("/")
@login_required
def index():
    page_number = arg_int("page", 1, minimum=1, maximum=MAX_PAGE)
    items = notes.recent(current_user, limit=PAGE_SIZE + 1, offset=(page_number - 1) * PAGE_SIZE)
    return render_template("notifications/index.html", items=items[:PAGE_SIZE], page=page_number,
                           has_more=len(items) > PAGE_SIZE, render_message=notes.render_message)


@bp.route("/bell")
@login_required
def bell():
    return render_template("notifications/_bell.html", unread=notes.unread_count(current_user))


def _own(notification_id: int) -> Notification:
    notification = db.get_or_404(Notification, notification_id)
    if notification.user_id != current_user.id:
        abort(404)
    return notification


@bp.route("/<int:notification_id>/open", methods=["GET", "POST"])
@login_required
def open_notification(notification_id: int):
    notification = _own(notification_id)
    if request.method == "POST":
        notes.mark_read(current_user, notification)
        db.session.commit()
        target = notification.url if is_safe_next(notification.url) else url_for("notifications.index")
        return redirect(target)
    return render_template("notifications/open.html", notification=notification,
                           message=notes.render_message(notification))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    notes.mark_all_read(current_user)
    db.session.commit()
    if is_htmx():
        return render_template("notifications/_bell.html", unread=0)
    return redirect(url_for("notifications.index"))
