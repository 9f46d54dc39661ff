"""How the API shows in the admin menu, and what it ends when an account is deactivated."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from app.api.models import ApiToken
from app.extension_points import nav_item, on_user_deactivated
from app.extensions import db
from app.org.models import Role

nav_item(70, "api_tokens.index", _l("API tokens"), menu="admin", visible=lambda user: user.has_role(Role.ADMIN))


@on_user_deactivated("api.revoke_tokens")
def revoke_tokens_of(actor, user, now) -> None:
    """A deactivated person's tokens are revoked for good; reactivating the account does not bring them back."""
    db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by_id=actor.id if actor is not None else None)
        .execution_options(synchronize_session=False)
    )
