"""The API rate limit: a valid token has its own allowance; no token or an invalid one counts against the client
address, so inventing tokens does not escape the limit; behind a proxy that address is the forwarded one."""

import secrets

from tests.proxy_apps import app_behind_proxies

PERIOD = {"from": "2026-07-01", "to": "2026-09-30"}


def _get(client, secret: str | None = None, address: str | None = None):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    if address:
        headers["X-Forwarded-For"] = address
    return client.get("/api/v1/metrics", query_string=PERIOD, headers=headers)


def test_random_tokens_are_limited_by_address_and_a_valid_token_keeps_its_own_allowance(
        app, client, make_user, make_token):
    from app.extensions import limiter

    secret = make_token(make_user("leader"))
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        limiter.reset()
        for _ in range(3):
            assert _get(client, "pdm_" + secrets.token_urlsafe(32)).status_code == 401
        limited = _get(client, "pdm_" + secrets.token_urlsafe(32))
        assert limited.status_code == 429 and limited.json["error"] == "too_many_requests"
        assert _get(client).status_code == 429, "no token shares the address's allowance"
        assert _get(client, secret).status_code == 200, "a valid token is not held back by the address"
    finally:
        app.config.pop("API_RATE_LIMIT")
        limiter.reset()


def test_behind_a_proxy_the_api_limit_keys_on_the_forwarded_address(database_url):
    with app_behind_proxies(database_url, 1, API_RATE_LIMIT="2 per minute") as proxied:
        client = proxied.test_client()
        for _ in range(2):
            assert _get(client, address="203.0.113.5").status_code == 401
        assert _get(client, address="203.0.113.5").status_code == 429
        assert _get(client, address="198.51.100.7").status_code == 401
