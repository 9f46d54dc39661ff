"""Behind a TLS proxy the sign-in limit counts the client's address (X-Forwarded-For from the trusted hops),
not the proxy's; exposed directly (PROXY_HOPS=0) the header is ignored, since anybody can send it."""

from app.extensions import db
from tests.proxy_apps import app_behind_proxies


def _fail(browser, address: str, n: int = 0):
    return browser.post("/login", data={"email": f"nobody{n}@example.test", "password": "wrong-password"},
                        headers={"X-Forwarded-For": address}, environ_base={"REMOTE_ADDR": "10.0.0.1"})


def test_behind_one_proxy_100_bad_passwords_from_one_address_do_not_block_another(database_url, make_user):
    user = make_user("agent")
    db.session.commit()
    with app_behind_proxies(database_url, 1, LOGIN_LIMIT_PER_ADDRESS="100 per hour") as proxied:
        browser = proxied.test_client()
        for n in range(100):
            assert _fail(browser, "203.0.113.5", n).status_code == 401
        assert _fail(browser, "203.0.113.5").status_code == 429
        assert _fail(browser, "198.51.100.7").status_code == 401, "another client is not blocked"
        response = browser.post("/login", data={"email": user.email, "password": "correct-horse-battery"},
                                headers={"X-Forwarded-For": "198.51.100.7"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert response.status_code == 302


def test_without_trusted_proxies_the_forwarded_header_is_ignored(database_url):
    with app_behind_proxies(database_url, 0, LOGIN_LIMIT_PER_ADDRESS="5 per hour") as direct:
        browser = direct.test_client()
        for n in range(5):
            assert _fail(browser, f"203.0.113.{n}", n).status_code == 401
        assert _fail(browser, "198.51.100.7").status_code == 429, "a made-up header does not escape the limit"
