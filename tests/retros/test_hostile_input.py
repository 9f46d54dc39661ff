"""Hostile values on every retro route: never a 5xx, a 4xx for each bad value, nothing saved.

Every POST route gets a valid form for its phase with one field at a time replaced by a hostile value (Unicode
digits, ids beyond 32 and 64 bits, 1e30, 10,000 characters, NUL, negative numbers); every route gets hostile path
ids; every GET route gets hostile query values.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.retros import services as retros
from app.retros.models import (
    Retro,
    RetroAction,
    RetroCard,
    RetroCheckin,
    RetroGroup,
    RetroNote,
    RetroTemplate,
    RetroVote,
)
from tests.conftest import PASSWORD
from tests.retros.conftest import advance_to

HTMX = {"HX-Request": "true"}
BIG = 10_000 * "x"
NUMBERS = ["²", "١", "1e30", str(2**31), str(2**63), "-1", "1.5", BIG]
REFS = ["card-²", "card-١", f"card-{2**31}", f"card-{2**63}", "card--1", "group-1e30", BIG, "²"]
TEXT = [BIG, "bad\x00value"]
CHOICES = ["²", "١", "-1", BIG, "bad\x00value"]
PATH_IDS = ["0", "-1", str(2**31), str(2**63), str(10**30), "%C2%B2", "%D9%A1"]


@pytest.fixture
def scene(team, make_retro, app):
    """A closed retro with an action, then a retro the test moves to the phase each route needs."""
    first = make_retro("discuss")
    with app.test_request_context():
        action = retros.create_action(team.members[0], first, title="Earlier", owner=team.members[0],
                                      due_date=date.today() + timedelta(days=3), principle="autonomy")
    db.session.commit()
    advance_to(first, "closed", team.coach)
    template = retros.save_template(team.coach, team.pod, name="Queues", columns_text="Phone\nChat")
    retro = retros.create_retro(team.coach, team.pod, title="Now", template_key="start_stop_continue",
                                facilitator=team.coach)
    db.session.commit()

    def at(phase: str) -> dict:
        ids = {"retro": retro.id, "action": action.id, "template": template.id, "pod": team.pod.id}
        if phase in ("checkin", "review"):
            advance_to(retro, phase, team.coach)
            return ids
        advance_to(retro, "reflect", team.coach)
        ids["card"] = retros.add_card(team.members[0], retro, column_key="start", text="A card").id
        db.session.commit()
        if phase != "reflect":
            advance_to(retro, "group", team.coach)
            ids["group"] = retros.create_group(team.coach, retro, title="A group").id
            db.session.commit()
            advance_to(retro, phase, team.coach)
        return ids

    return at


# (phase, path, valid form, {field: hostile values})
POSTS = [
    (None, "/pods/{pod}/retros", {"title": "R", "template": "four_ls", "votes_per_person": "5",
                                  "max_votes_per_item": "3", "grouping": "everyone"},
     {"title": TEXT, "template": CHOICES, "facilitator_id": NUMBERS, "votes_per_person": NUMBERS,
      "max_votes_per_item": NUMBERS, "grouping": CHOICES}),
    (None, "/pods/{pod}/retro-templates", {"name": "Another", "columns": "A\nB"},
     {"name": TEXT, "columns": TEXT}),
    ("checkin", "/retros/{retro}/advance", {"phase": "checkin"}, {"phase": CHOICES}),
    ("checkin", "/retros/{retro}/timer", {"phase": "checkin", "minutes": "5"},
     {"phase": CHOICES, "minutes": NUMBERS}),
    ("checkin", "/retros/{retro}/facilitator", {"facilitator_id": "COACH"}, {"facilitator_id": NUMBERS}),
    ("checkin", "/retros/{retro}/checkin", {"pulse": "3"}, {"pulse": NUMBERS}),
    ("review", "/retros/{retro}/review/{action}", {"status": "done"}, {"status": CHOICES}),
    ("reflect", "/retros/{retro}/cards", {"column": "start", "text": "New card"},
     {"column": CHOICES, "text": TEXT, "case_ref": TEXT, "metric": CHOICES}),
    ("reflect", "/retros/{retro}/cards/{card}/edit", {"text": "Edited"}, {"text": TEXT}),
    ("group", "/retros/{retro}/cards/{card}/move", {"target": "new"}, {"target": REFS + CHOICES}),
    ("group", "/retros/{retro}/groups", {"title": "G2"}, {"title": TEXT}),
    ("group", "/retros/{retro}/groups/{group}/rename", {"title": "G3"}, {"title": TEXT}),
    ("vote", "/retros/{retro}/votes", {"item": "group-GROUP"}, {"item": REFS + CHOICES}),
    ("vote", "/retros/{retro}/votes/remove", {"item": "group-GROUP"}, {"item": REFS + CHOICES}),
    ("discuss", "/retros/{retro}/notes", {"topic": "group-GROUP", "text": "A note"},
     {"topic": REFS + CHOICES, "text": TEXT}),
    ("discuss", "/retros/{retro}/actions", {"title": "Act", "owner_id": "COACH", "due_date": "2099-01-01",
                                            "principle": "autonomy", "metric": "fcr", "scope": "pod"},
     {"title": TEXT, "owner_id": NUMBERS, "due_date": ["²٠٢٦-01-01", "9999-12-31x", "2099-02-30", BIG],
      "principle": CHOICES, "topic": REFS, "metric": CHOICES,
      "scope": ["segment-²", f"stage-{2**31}", f"segment-{2**63}", "segment--1", BIG], "direction": CHOICES}),
]


def _state() -> list:
    """Everything a retro POST could change."""
    db.session.expire_all()
    return [
        db.session.execute(select(Retro.id, Retro.phase, Retro.version, Retro.facilitator_id, Retro.phase_ends_at)
                           .order_by(Retro.id)).all(),
        db.session.execute(select(RetroCard.id, RetroCard.text, RetroCard.group_id).order_by(RetroCard.id)).all(),
        db.session.execute(select(RetroGroup.id, RetroGroup.title).order_by(RetroGroup.id)).all(),
        db.session.execute(select(RetroAction.id, RetroAction.status).order_by(RetroAction.id)).all(),
        db.session.execute(select(RetroVote.id, RetroVote.count).order_by(RetroVote.id)).all(),
        db.session.execute(select(RetroNote.id).order_by(RetroNote.id)).all(),
        db.session.execute(select(RetroCheckin.id, RetroCheckin.pulse).order_by(RetroCheckin.id)).all(),
        db.session.execute(select(RetroTemplate.id, RetroTemplate.name).order_by(RetroTemplate.id)).all(),
    ]


@pytest.fixture
def coach_client(app, team):
    client = app.test_client()
    assert client.post("/login", data={"email": team.coach.email, "password": PASSWORD}).status_code == 302
    return client


@pytest.mark.parametrize(("phase", "path", "valid", "attacks"), POSTS, ids=[p[1] for p in POSTS])
def test_hostile_form_values_are_refused_with_a_4xx_and_save_nothing(team, scene, coach_client, phase, path, valid,
                                                                     attacks):
    if phase is None:
        ids = {"pod": team.pod.id}
        if "retros" in path:  # a pod has one open retro at a time: close the scene's retro first
            advance_to(db.session.scalars(select(Retro).where(Retro.phase != "closed")).first(), "closed",
                       team.coach)
    else:
        ids = scene(phase)
    url = path.format(**ids)
    base = {k: v.replace("COACH", str(team.coach.id)).replace("GROUP", str(ids.get("group", 0)))
            for k, v in valid.items()}
    tried = 0
    for field, values in attacks.items():
        for value in values:
            before = _state()
            for headers in ({}, HTMX):
                response = coach_client.post(url, data={**base, field: value}, headers=headers)
                assert 400 <= response.status_code < 500, (field, value[:30], response.status_code)
                tried += 1
            assert _state() == before, (field, value[:30])
    assert tried >= 2 * len(attacks)


def test_lone_surrogates_and_invalid_utf8_in_forms_are_refused(team, scene, coach_client):
    ids = scene("reflect")
    before = _state()
    response = coach_client.post(f"/retros/{ids['retro']}/cards", data=b"column=start&text=%ED%A0%80&case_ref=%FF",
                                 content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500
    if response.status_code >= 400:
        assert _state() == before
    for text, ref in db.session.execute(select(RetroCard.text, RetroCard.case_ref)):  # never a lone surrogate
        (text + (ref or "")).encode("utf-8")


ROUTES_WITH_IDS = [
    ("POST", "/pods/{pod}/retros"), ("POST", "/pods/{pod}/retro-templates"),
    ("POST", "/pods/{pod}/retro-templates/{template}/delete"), ("POST", "/retros/{retro}/advance"),
    ("POST", "/retros/{retro}/timer"), ("POST", "/retros/{retro}/facilitator"), ("POST", "/retros/{retro}/checkin"),
    ("POST", "/retros/{retro}/review/{action}"), ("POST", "/retros/{retro}/cards"),
    ("POST", "/retros/{retro}/cards/{card}/edit"), ("POST", "/retros/{retro}/cards/{card}/delete"),
    ("POST", "/retros/{retro}/cards/{card}/move"), ("POST", "/retros/{retro}/groups"),
    ("POST", "/retros/{retro}/groups/{group}/rename"), ("POST", "/retros/{retro}/votes"),
    ("POST", "/retros/{retro}/votes/remove"), ("POST", "/retros/{retro}/notes"), ("POST", "/retros/{retro}/actions"),
    ("GET", "/pods/{pod}/retros"), ("GET", "/pods/{pod}/actions"), ("GET", "/retros/{retro}"),
    ("GET", "/retros/{retro}/board"), ("GET", "/retros/{retro}/export.md"), ("GET", "/retros/{retro}/export.csv"),
    ("GET", "/retros/{retro}/summary"),
]


def test_hostile_path_ids_are_not_found(team, scene, coach_client):
    ids = scene("reflect")
    before = _state()
    for method, path in ROUTES_WITH_IDS:
        names = [n for n in ("pod", "retro", "template", "action", "card", "group") if "{" + n + "}" in path]
        for name in names:
            for bad in PATH_IDS:
                url = path.format(**{**ids, "group": 1, name: bad})
                response = coach_client.open(url, method=method, data={"text": "x", "title": "x"})
                assert response.status_code in (404, 405), (url, response.status_code)
    assert _state() == before


@pytest.mark.parametrize("value", ["²", "١", "1e30", str(2**63), BIG, "-1"])
def test_hostile_query_values_on_get_routes(team, scene, coach_client, value):
    ids = scene("reflect")
    for path in ("/retros", "/pods/{pod}/retros", "/pods/{pod}/actions", "/retros/{retro}", "/retros/{retro}/board",
                 "/retros/{retro}/export.md", "/retros/{retro}/export.csv", "/retros/{retro}/summary"):
        url = path.format(**ids)
        for query in ({"v": value, "phase": value}, {"page": value, "pod": value}):
            response = coach_client.get(url, query_string=query)
            assert response.status_code < 500, (url, query, response.status_code)


def test_services_refuse_lone_surrogates_and_controls_whoever_calls_them(team, make_retro):
    """The API, jobs and demo call services directly: they refuse what no person types, too."""
    retro = make_retro("reflect")
    for text in ("half \ud800 a pair", "bell \x07"):
        with pytest.raises(retros.RetroError) as refused:
            retros.add_card(team.members[0], retro, column_key="start", text=text)
        assert refused.value.status == 422
    db.session.rollback()
    assert db.session.scalar(select(RetroCard.id)) is None
