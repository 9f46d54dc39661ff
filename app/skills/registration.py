"""How the skills matrix shows in the navigation and on the stand-up board (through a template function)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.extension_points import nav_item
from app.extensions import db
from app.permissions import can
from app.skills import bp
from app.skills.access import VIEW
from app.skills.services import standup_gaps

nav_item(45, "skills.index", _l("Skills"), active_prefix="skills.")


@bp.app_template_global("skills_standup_gaps")
def skills_standup_gaps(board):
    """For the stand-up board: the pod's skills nobody who posted on this board covers; None when not shown."""
    from app.standups.models import StandupEntry  # the stand-up board is the caller; its model is read, not changed

    if not current_user.is_authenticated or not can(current_user, VIEW, board.pod_id):
        return None
    present = set(db.session.scalars(select(StandupEntry.user_id).where(StandupEntry.board_id == board.id)))
    return standup_gaps(board.pod, board.day, present)
