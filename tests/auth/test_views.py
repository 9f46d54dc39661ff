"""Sign-in, sign-out, sessions, safe redirects, rate limits and the profile page."""

import pytest

from app.extensions import db, limiter
from tests.conftest import PASSWORD


def test_sign_in_form_has_labelled_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email' in page
    assert '<label for="password">Password' in page
    assert 'value="Sign in"' in page


def test_sign_in_with_right_password_opens_my_day(client, auth, make_user):
    user = make_user("agent", email="Marta.Lopez@Example.test")
    response = auth.login("marta.lopez@example.test")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert user.email == "marta.lopez@example.test"


def test_wrong_password_is_refused_with_a_message(client, auth, make_user):
    user = make_user("agent")
    response = auth.login(user, password="not-the-password")
    assert response.status_code == 401
    assert "Email or password is not right." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_deactivated_user_cannot_sign_in(client, auth, make_user):
    user = make_user("agent")
    user.active = False
    db.session.commit()
    assert auth.login(user).status_code == 401


def test_sign_out_ends_the_session(client, auth, make_user):
    auth.login(make_user("agent"))
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def _copy_cookies(source, target, *names):
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, name
        target.set_cookie(name, cookie.value)


def test_sign_out_ends_that_session_on_the_server_so_a_copied_cookie_is_refused(app, make_user):
    user = make_user("agent")
    laptop, thief, phone = app.test_client(), app.test_client(), app.test_client()
    for browser in (laptop, phone):
        browser.post("/login", data={"email": user.email, "password": PASSWORD})
        assert browser.get("/").status_code == 200
    _copy_cookies(laptop, thief, "session")
    assert thief.get("/").status_code == 200
    assert laptop.post("/logout").status_code == 302
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "Sign in" in thief.get(response.headers["Location"]).get_data(as_text=True)
    assert phone.get("/").status_code == 200, "another device stays signed in"


def test_sign_out_also_ends_a_copied_remember_cookie(app, make_user):
    user = make_user("agent")
    laptop, thief = app.test_client(), app.test_client()
    laptop.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    _copy_cookies(laptop, thief, "remember_token")
    assert thief.get("/").status_code == 200, "a remember cookie alone signs in"
    thief.delete_cookie("session")
    laptop.post("/logout")
    assert thief.get("/").status_code == 302


def test_a_login_id_from_before_session_keys_is_refused(app, make_user):
    from app.auth.services import load_session_user

    user = make_user("agent")
    assert load_session_user(f"{user.id}:{user.session_version}") is None
    assert load_session_user(f"{user.id}:{user.session_version}:short") is None
    assert load_session_user("²:1:" + "a" * 32) is None


def test_loading_the_signed_in_user_is_one_query(app, client, auth, make_user, count_queries):
    from app.auth.services import load_session_user

    user = make_user("agent")
    login_id, user_id = f"{user.id}:{user.session_version}:" + "k" * 32, user.id
    with count_queries() as queries:
        loaded = load_session_user(login_id)
    assert loaded is not None and loaded.id == user_id
    assert queries.count == 1


def test_remember_me_sets_an_httponly_lax_cookie(client, auth, make_user):
    response = auth.login(make_user("agent"), remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]
    session = [c for c in cookies if c.startswith("session=")]
    assert session and "HttpOnly" in session[0] and "SameSite=Lax" in session[0]


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "http:/evil", "/%0d%0aX",
     "\\\\evil", " //evil.example"],
)
def test_next_accepts_only_local_paths(client, make_user, target):
    user = make_user("agent")
    response = client.post("/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "/%0d%0aX")


def test_next_local_path_is_followed(client, make_user):
    user = make_user("agent")
    response = client.post("/login", query_string={"next": "/pods"}, data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/pods"


def test_password_change_ends_other_sessions_but_keeps_this_one(app, make_user):
    user = make_user("agent")
    laptop, phone = app.test_client(), app.test_client()
    for browser in (laptop, phone):
        browser.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
        assert browser.get("/").status_code == 200
    response = laptop.post("/profile/password", data={
        "pw-current_password": PASSWORD, "pw-new_password": "a-brand-new-secret", "pw-confirm": "a-brand-new-secret",
    })
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200
    phone.delete_cookie("session")
    assert phone.get("/").status_code == 302, "the old remember cookie must not sign the phone back in"
    assert app.test_client().post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 401


def test_password_change_with_wrong_current_password_is_refused(client, auth, make_user):
    user = make_user("agent")
    auth.login(user)
    response = client.post("/profile/password", data={
        "pw-current_password": "wrong-one-here", "pw-new_password": "a-brand-new-secret",
        "pw-confirm": "a-brand-new-secret",
    })
    assert response.status_code == 400
    assert "The current password is not right." in response.get_data(as_text=True)


def test_deactivation_ends_the_users_sessions(app, client, auth, make_user):
    admin = make_user("admin")
    agent = make_user("agent")
    agent_browser = app.test_client()
    agent_browser.post("/login", data={"email": agent.email, "password": PASSWORD})
    assert agent_browser.get("/").status_code == 200
    auth.login(admin)
    assert client.post(f"/admin/users/{agent.id}/deactivate").status_code == 302
    assert agent_browser.get("/").status_code == 302


def test_profile_changes_language_and_time_zone(client, auth, make_user):
    user = make_user("agent")
    auth.login(user)
    response = client.post("/profile", data={"display_name": "Chiara Esposito", "locale": "it", "timezone": "Europe/Rome"})
    assert response.status_code == 302
    page = client.get("/profile").get_data(as_text=True)
    assert 'lang="it"' in page
    assert user.display_name == "Chiara Esposito" and user.timezone == "Europe/Rome"


@pytest.mark.parametrize("data", [
    {"display_name": "", "locale": "es", "timezone": "Europe/Madrid"},
    {"display_name": "x" * 10_000, "locale": "es", "timezone": "Europe/Madrid"},
    {"display_name": "Nul\x00Byte", "locale": "es", "timezone": "Europe/Madrid"},
    {"display_name": "Ok", "locale": "fr", "timezone": "Europe/Madrid"},
    {"display_name": "Ok", "locale": "es", "timezone": "Mars/Olympus"},
    {"display_name": "Ok", "locale": "es", "timezone": "../../etc/passwd"},
])
def test_profile_bad_input_is_a_clear_400_and_saves_nothing(client, auth, make_user, data):
    user = make_user("agent", name="Original Name")
    auth.login(user)
    response = client.post("/profile", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "field-error" in page or "not allowed" in page  # NUL: refused before any view runs
    db.session.refresh(user)
    assert user.display_name == "Original Name" and user.locale is None  # a new user has no stored language


def test_failed_sign_ins_are_rate_limited_per_account(app, client, make_user):
    user = make_user("agent")
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "3 per minute"
    try:
        limiter.reset()
        for _ in range(3):
            assert client.post("/login", data={"email": user.email, "password": "wrong-password"}).status_code == 401
        blocked = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert blocked.status_code == 429
        assert "Too many attempts" in blocked.get_data(as_text=True)
        other = make_user("agent")
        assert client.post("/login", data={"email": other.email, "password": PASSWORD}).status_code == 302
    finally:
        app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "1000 per minute"
        limiter.reset()


def test_failed_sign_ins_are_rate_limited_per_address(app, client, make_user):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "4 per minute"
    try:
        limiter.reset()
        for n in range(4):
            client.post("/login", data={"email": f"nobody{n}@example.test", "password": "wrong-password"})
        assert client.post("/login", data={"email": "x@example.test", "password": "y"}).status_code == 429
        other_address = client.post("/login", data={"email": "x@example.test", "password": "y"},
                                    environ_base={"REMOTE_ADDR": "10.9.8.7"})
        assert other_address.status_code == 401
    finally:
        app.config["LOGIN_LIMIT_PER_ADDRESS"] = "1000 per minute"
        limiter.reset()


def test_successful_sign_ins_do_not_use_up_the_limit(app, client, make_user):
    user = make_user("agent")
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    try:
        limiter.reset()
        for _ in range(4):
            assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
            client.post("/logout")
    finally:
        app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "1000 per minute"
        limiter.reset()


def test_csrf_is_required_on_state_changes(app, client, make_user):
    user = make_user("agent")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 400
        assert "Reload the page" in response.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_csrf_token_in_htmx_header_is_accepted(app, client, make_user):
    user = make_user("agent")
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get("/profile").get_data(as_text=True)
        token = page.split('"X-CSRFToken": "')[1].split('"')[0]
        refused = client.post("/profile", data={"display_name": "A", "locale": "en", "timezone": "UTC"},
                              headers={"HX-Request": "true"})
        assert refused.status_code == 400
        assert refused.headers.get("HX-Retarget") == "#flash-area"
        accepted = client.post("/profile", data={"display_name": "A", "locale": "en", "timezone": "UTC"},
                               headers={"X-CSRFToken": token})
        assert accepted.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_an_htmx_request_after_the_session_ended_sends_the_browser_to_sign_in(client):
    response = client.get("/pods", headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/pods?x=1"})
    assert response.status_code == 204, "a poll must not swap the sign-in page into a fragment"
    assert response.headers["HX-Redirect"] == "/login?next=/pods?x%3D1"


def test_a_page_request_without_a_session_redirects_to_sign_in_and_back(client):
    response = client.get("/pods")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login?next=/pods")
