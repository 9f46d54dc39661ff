"""How the API shows in the admin menu."""

from flask_babel import lazy_gettext as _l

from app.extension_points import nav_item
from app.org.models import Role

nav_item(70, "api_tokens.index", _l("API tokens"), menu="admin", visible=lambda user: user.has_role(Role.ADMIN))
