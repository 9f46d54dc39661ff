"""The admins' page for API tokens: create one (its secret shown once), see them all, revoke one."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import permissions as P
from app.api import bp as api_bp
from app.api.auth import create_token, revoke_token
from app.api.forms import TokenForm
from app.api.models import ApiToken
from app.errors import show_refusals_on
from app.extensions import db
from app.org.models import User

# A blueprint of its own: the API's blueprint is exempt from CSRF checks, these HTML forms are not.
bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")

@api_bp.record_once
def _register(state) -> None:
    state.app.register_blueprint(bp)


def _tokens() -> list:
    return list(db.session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all())


def _form() -> TokenForm:
    form = TokenForm()
    people = db.session.execute(
        select(User.id, User.display_name, User.email, User.role).where(User.active.is_(True))
        .order_by(User.display_name, User.id)
    )
    form.user_id.choices = [(uid, f"{name} <{email}> ({role})") for uid, name, email, role in people]
    if form.user_id.data is None:
        form.user_id.data = current_user.id
    return form


def _page(form: TokenForm, secret: str | None = None, created: ApiToken | None = None, status: int = 200):
    response = make_response(render_template("api/tokens.html", form=form, tokens=_tokens(), secret=secret,
                                             created=created), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("")
@login_required
def index():
    P.require(P.MANAGE_API_TOKENS)
    return _page(_form())


@bp.route("", methods=["POST"])
@login_required
def create():
    P.require(P.MANAGE_API_TOKENS)
    form = _form()
    if not form.validate_on_submit():
        return _page(form, status=400)
    user = db.session.get(User, form.user_id.data)

    def refused(errors: list[str]):  # a refused token goes back onto the name field (the one handler rolls back)
        form.name.errors = [*form.name.errors, *errors]
        return _page(form, status=400)

    show_refusals_on(refused)
    token, secret = create_token(user, form.name.data, created_by=current_user)
    db.session.commit()
    return _page(_form_reset(form), secret=secret, created=token, status=201)


def _form_reset(form: TokenForm) -> TokenForm:
    form.name.data = ""
    form.user_id.data = current_user.id
    return form


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
@P.authorize(ApiToken, P.MANAGE_API_TOKENS, "token_id")
def revoke(token: ApiToken):
    if revoke_token(token, current_user):
        db.session.commit()
        flash(_("Token “%(name)s” revoked: it no longer works.", name=token.name), "success")
    else:
        flash(_("Token “%(name)s” was revoked already.", name=token.name), "info")
    return redirect(url_for("api_tokens.index"), 303)
