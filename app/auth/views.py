"""Sign-in, sign-out and profile pages."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from app.auth import bp
from app.auth.forms import LoginForm, PasswordForm, ProfileForm
from app.auth.services import authenticate, end_session, is_safe_next, load_session_user, start_session
from app.extensions import client_address, db, limiter, login_manager
from app.htmx import hx_redirect
from app.org import services as org_services
from app.org.models import User
from app.timeutil import timezone_choices

login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"


def _localize(message):
    return _("Please sign in to open this page.")


login_manager.localize_callback = _localize


@login_manager.unauthorized_handler
def _unauthorized():
    """A page sends people to sign in; an htmx request (a live board's poll after the session ended)
    must not swap the sign-in page into a fragment, so it asks the browser to go there instead."""
    if request.headers.get("HX-Request") == "true":
        from urllib.parse import urlsplit


        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        target = current.path + (f"?{current.query}" if current.query else "")
        next_url = target if is_safe_next(target) else None
        return hx_redirect(url_for("auth.login", next=next_url))
    flash(_localize(None), login_manager.login_message_category)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")
                            if request.method == "GET" else None))


@login_manager.user_loader
def load_user(login_id: str) -> User | None:
    return load_session_user(login_id)


def _account_key() -> str:
    return "login-account:" + User.normalize_email(request.form.get("email", ""))[:254]


def _failed(response) -> bool:
    return response.status_code != 302


def _login_limit(kind: str):
    return lambda: current_app.config[kind]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit("LOGIN_LIMIT_PER_ADDRESS"), key_func=client_address, methods=["POST"],
               deduct_when=_failed, scope="login-address")
@limiter.limit(_login_limit("LOGIN_LIMIT_PER_ACCOUNT"), key_func=_account_key, methods=["POST"],
               deduct_when=_failed, scope="login-account")
def login():
    next_url = request.values.get("next")
    if current_user.is_authenticated:
        return redirect(next_url if is_safe_next(next_url) else url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            start_session(user, remember=bool(form.remember.data))
            return redirect(next_url if is_safe_next(next_url) else url_for("main.home"))
        flash(_("Email or password is not right."), "error")
        return render_template("auth/login.html", form=form, next_url=next_url if is_safe_next(next_url) else None), 401
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form, next_url=next_url if is_safe_next(next_url) else None), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        end_session(current_user._get_current_object())
        db.session.commit()
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    password_form = PasswordForm(prefix="pw")
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            current_user.display_name = form.display_name.data
            current_user.locale = form.locale.data
            current_user.timezone = form.timezone.data
            db.session.commit()
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("auth.profile"))
        status = 400
    return render_template(
        "auth/profile.html", form=form, password_form=password_form, timezones=timezone_choices()
    ), status


@bp.route("/profile/password", methods=["POST"])
@login_required
def password():
    form = ProfileForm(obj=current_user, formdata=None)
    password_form = PasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        if not current_user.check_password(password_form.current_password.data):
            password_form.current_password.errors.append(_("The current password is not right."))
        else:
            user = current_user._get_current_object()
            org_services.change_password(user, user, password_form.new_password.data)
            db.session.commit()
            start_session(user, remember=bool(request.cookies.get("remember_token")))
            flash(_("Your password is changed. Your other sessions are signed out."), "success")
            return redirect(url_for("auth.profile"))
    return render_template(
        "auth/profile.html", form=form, password_form=password_form, timezones=timezone_choices()
    ), 400
