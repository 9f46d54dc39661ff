"""A hostile corpus against every route: no 5xx, a 4xx with a message for what is refused, nothing half-saved.

On the demo data, as anonymous and as each demo role:
- every route in the URL map with each path parameter replaced by hostile values (0, -1, 2^31, 2^63, 10^30,
  "²", "١", NUL, a lone surrogate, 10,000 characters);
- every GET page with hostile values for the query parameters the app reads;
- every form found on the pages a role can open (one of each kind), each field in turn given hostile values;
  when the answer is a 4xx, the row count of every table is unchanged (nothing half-saved).
The API answers refusals in JSON.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from flask_babel import refresh
from sqlalchemy import event, func, literal, select, union_all

from app.demo.org_data import ADMIN_EMAIL, AGENT_EMAIL, COACH_EMAIL, LEADER_EMAIL
from app.extensions import db
from app.org.models import User, pod_coaches
from tests.demo_snapshot import load_demo_snapshot

ROLES = (None, AGENT_EMAIL, COACH_EMAIL, LEADER_EMAIL, ADMIN_EMAIL)
SURROGATE = "%ED%A0%80"  # UTF-8 bytes of a lone surrogate (U+D800): invalid UTF-8
PATH_VALUES = ("0", "-1", str(2**31), str(2**63), str(10**30), quote("²"), quote("١"), "%00", SURROGATE,
               "9" * 10_000)
QUERY_VALUES = ("-1", str(2**31), str(2**63), "1e30", "²", "١", "9999-12-31", "0001-01-01", "x" * 10_000)
FIELD_VALUES = ("²", "١", str(2**63), "1e30", "-1", "9999-12-31", "x" * 10_000)  # lone surrogates: JSON only
QUERY_NAMES = ("page", "pod", "pod_id", "agent", "agent_id", "user_id", "segment_id", "stage_id", "days", "from",
               "to", "start", "end", "year", "quarter", "metric", "grain", "period", "sort", "q", "scope",
               "board_id", "since", "seen", "version", "suggestion", "action", "status", "channel",
               "request_type", "dimension", "kind", "before", "after", "cursor", "present")
# Forms that end the session or the demo's ability to be walked further; they are covered by feature tests.
SKIP_FORM_ACTIONS = ("/logout",)
SKIP_ENDPOINTS = {"static"}


class _Forms(HTMLParser):
    """The POST forms of a page: action and fields with their default values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": a.get("action") or "", "fields": {}}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag in ("input", "textarea") and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a and a["name"] in self._form["fields"]:
                return
            self._form["fields"][a["name"]] = a.get("value") or ""
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form["fields"].setdefault(a["name"], "")
        elif tag == "option" and self._select and self._form["fields"].get(self._select, "") == "":
            self._form["fields"][self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _fingerprint() -> tuple:
    """Row counts of every table, in one query."""
    tables = db.metadata.sorted_tables
    parts = [select(literal(t.name).label("name"), func.count().label("n")).select_from(t) for t in tables]
    return tuple(sorted(db.session.execute(union_all(*parts)).all()))


class _Commits:
    """Counts the commits on the app's engine: a request that committed nothing saved nothing, so the row
    counts need taking again only after one that did (counting every table twice per post was 40 % of the test)."""

    def __init__(self):
        self.count = 0

    def __call__(self, connection):
        self.count += 1

    def __enter__(self):
        event.listen(db.engine, "commit", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "commit", self)


def _path_urls(app):
    """(method, url, hostile?) for every rule, each path parameter in turn hostile."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        params = re.findall(r"<(?:([a-z]+)(?:\(([^)]*)\))?:)?(\w+)>", rule.rule)
        if not params:
            continue
        for _conv, _args, name in params:
            for value in PATH_VALUES:
                url = rule.rule
                for conv, args, other in params:
                    if other == name:
                        replacement = value
                    elif conv == "any":
                        replacement = args.split(",")[0].strip().strip("'\"")
                    else:
                        replacement = "1"
                    url = re.sub(r"<[^>]*\b" + other + ">", replacement, url)
                for method in methods:
                    out.append((method, url))
    return out


def _get_urls(app, pod_id):
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIP_ENDPOINTS or rule.endpoint == "auth.logout":
            continue
        args = set(rule.arguments)
        if not args:
            urls.append(rule.rule)
        elif args == {"pod_id"}:
            urls.append(rule.rule.replace("<int:pod_id>", str(pod_id)))
    return sorted(set(urls))


def _shape(action: str) -> str:
    return re.sub(r"\d+", "N", urlsplit(action).path)


@pytest.fixture
def demo(app):
    load_demo_snapshot()
    return db.session.scalar(
        select(pod_coaches.c.pod_id).join(User, User.id == pod_coaches.c.user_id).where(User.email == COACH_EMAIL))


def _login(client, email):
    client.post("/logout")
    if email:
        response = client.post("/login", data={"email": email, "password": "podium-demo"})
        assert response.status_code in (302, 303), email


def _refused_ok(response, url) -> str | None:
    """None when the answer to a hostile request is acceptable, else why not."""
    code = response.status_code
    if code >= 500:
        return f"{code}"
    if url.startswith("/api/") and code >= 400 and response.mimetype != "application/json":
        return f"{code} not JSON"
    return None


def test_hostile_path_parameters_never_give_a_server_error(app, client, demo):
    failures, tried = [], 0
    urls = _path_urls(app)
    for email in ROLES:
        _login(client, email)
        for method, url in urls:
            refresh()
            response = client.open(url, method=method, data={} if method != "GET" else None)
            tried += 1
            problem = _refused_ok(response, url)
            if problem is None and response.status_code < 300 and not url.startswith("/api/v1/"):
                problem = f"accepted ({response.status_code})"
            if problem:
                failures.append((email, method, url[:80], problem))
    print(f"hostile path values: {tried} requests ({len(urls)} route/value pairs x {len(ROLES)} identities)")
    assert failures == [], "\n".join(map(str, failures))


def test_hostile_query_strings_never_give_a_server_error(app, client, demo):
    failures, tried = [], 0
    for email in ROLES[1:]:
        _login(client, email)
        for url in _get_urls(app, demo):
            for value in QUERY_VALUES:
                query = "&".join(f"{name}={quote(value)}" for name in QUERY_NAMES)
                refresh()
                response = client.get(f"{url}?{query}")
                tried += 1
                problem = _refused_ok(response, url)
                if problem:
                    failures.append((email, url, value[:12], problem))
    print(f"hostile query strings: {tried} requests")
    assert failures == [], "\n".join(map(str, failures))


def test_hostile_form_fields_are_refused_cleanly_and_save_nothing_half(app, client, demo):
    failures, tried, seen = [], 0, set()
    for email in ROLES[1:]:
        _login(client, email)
        forms = []
        for url in _get_urls(app, demo):
            refresh()
            response = client.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            parser = _Forms()
            parser.feed(response.get_data(as_text=True))
            for form in parser.forms:
                action = form["action"] or url
                key = (email, _shape(action), tuple(sorted(form["fields"])))
                if key in seen or action.startswith(SKIP_FORM_ACTIONS) or not action.startswith("/"):
                    continue
                seen.add(key)
                forms.append((action, form["fields"]))
        rows = _fingerprint()
        for action, fields in forms:
            for name in fields:
                if name == "csrf_token":
                    continue
                for value in FIELD_VALUES:
                    before = rows
                    refresh()
                    with _Commits() as commits:
                        response = client.post(action, data={**fields, name: value})
                    tried += 1
                    db.session.rollback()
                    if commits.count:
                        rows = _fingerprint()
                    problem = _refused_ok(response, action)
                    if problem is None and 400 <= response.status_code < 500 and rows != before:
                        problem = "refused but saved something"
                    if problem:
                        failures.append((email, action, name, repr(value[:12]), problem))
    print(f"hostile form fields: {tried} posts over {len(seen)} forms")
    assert failures == [], "\n".join(map(str, failures))
