"""Every page, as every demo account, in English, Spanish and Italian: no server error, the right language.

A page with ids in its URL is visited with the signed-in person's own pod where it takes a pod; other ids are
left to the feature tests.
"""

import pytest
from flask_babel import refresh
from sqlalchemy import select

from app.demo.org_data import ADMIN_EMAIL, AGENT_EMAIL, COACH_EMAIL, LEADER_EMAIL
from app.extensions import db
from app.org.models import User, pod_coaches
from tests.demo_snapshot import load_demo_snapshot

ACCOUNTS = (ADMIN_EMAIL, LEADER_EMAIL, COACH_EMAIL, AGENT_EMAIL)
SKIP_ENDPOINTS = {"static", "auth.logout", "main.healthz"}


def _urls(app, pod_id):
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIP_ENDPOINTS or rule.rule.startswith("/api/"):
            continue
        args = set(rule.arguments)
        if not args:
            urls.append(rule.rule)
        elif args == {"pod_id"}:
            urls.append(rule.rule.replace("<int:pod_id>", str(pod_id)))
    return sorted(set(urls))


@pytest.fixture
def demo(app):
    load_demo_snapshot()
    coach_pod = db.session.scalar(
        select(pod_coaches.c.pod_id).join(User, User.id == pod_coaches.c.user_id).where(User.email == COACH_EMAIL))
    return coach_pod


def test_every_page_works_for_every_demo_account_in_every_language(app, client, auth, demo):
    # One demo load for all three languages: loading it is what makes this test slow.
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(ACCOUNTS)))}
    failures = []
    for locale, email in ((locale, email) for locale in ("en", "es", "it") for email in ACCOUNTS):
        user = users[email]
        user.locale = locale
        db.session.commit()
        auth.login(user, password="podium-demo")
        for url in _urls(app, demo):
            refresh()  # the test's app context outlives requests; forget the locale Flask-Babel cached in it
            response = client.get(url)
            if response.status_code >= 500 or response.status_code not in (200, 302, 303, 400, 403, 404):
                failures.append((locale, email, url, response.status_code))
            elif response.status_code == 200 and response.mimetype == "text/html":
                page = response.get_data(as_text=True)
                if "<html" in page and f'lang="{locale}"' not in page:
                    failures.append((locale, email, url, "wrong language"))
        auth.logout()
    assert failures == []
