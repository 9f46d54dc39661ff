"""Mappings: unmapped values are listed, leaders map them on the page, cases are re-attributed without re-import."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.org import services as org
from app.outcomes import attribution, ingest
from app.outcomes.models import Case, ValueMapping
from tests.outcomes.test_import_formats import zendesk_file, zendesk_row


@pytest.fixture
def imported(tmp_path, make_user):
    leader = make_user("leader")
    import_three_cases(tmp_path)
    return leader


def import_three_cases(tmp_path) -> None:
    """Cases 1 and 2 of group Soporte, case 3 of Empresas, with values no mapping names yet."""
    rows = [
        zendesk_row(Id="1", Group="Soporte", Assignee="Ana Torres", **{"Segment [list]": "Residencial",
                                                                       "Lifecycle stage [list]": "Posventa",
                                                                       "Request type [list]": "Garantía"}),
        zendesk_row(Id="2", Group="soporte ", Assignee="ana@example.test", **{"Segment [list]": "Pymes",
                                                                             "Lifecycle stage [list]": "Venta",
                                                                             "Request type [list]": "Queja"}),
        zendesk_row(Id="3", Group="Empresas", Assignee="Nadie", **{"Segment [list]": "Residencial",
                                                                   "Lifecycle stage [list]": "Posventa",
                                                                   "Request type [list]": "Garantía"}),
    ]
    ingest.import_file(zendesk_file(tmp_path, rows), fmt="zendesk", timezone="UTC")


def attribution_of(external_id: str) -> tuple:
    db.session.expire_all()
    found = db.session.scalar(select(Case).where(Case.external_id == external_id))
    return found.pod_id, found.segment_id, found.stage_id, found.request_type, found.assignee_id


def test_unmapped_values_are_listed_most_frequent_first(imported):
    unmapped = attribution.unmapped_by_kind()
    assert unmapped["segment"] == [("Residencial", 2), ("Pymes", 1)]
    assert unmapped["pod"][0][1] == 2 and {v.strip().casefold() for v, _n in unmapped["pod"]} == {"soporte", "empresas"}
    assert unmapped["request_type"] == [("Garantía", 2), ("Queja", 1)]
    assert {value for value, _count in unmapped["user"]} == {"Ana Torres", "ana@example.test", "Nadie"}


def test_names_and_emails_that_match_need_no_mapping(imported, make_user, make_segment):
    make_user("agent", email="ana@example.test", name="Ana Torres")
    make_segment("Pymes")
    unmapped = attribution.unmapped_by_kind()
    assert [value for value, _n in unmapped["user"]] == ["Nadie"]
    assert [value for value, _n in unmapped["segment"]] == ["Residencial"]


def test_mapping_then_reattribution_moves_cases_without_reimport(imported, make_pod, make_segment, stages, make_user):
    care = make_pod("Care")
    residential = make_segment("Residential")
    agent = make_user("agent", email="ana@example.test", name="Ana Torres")
    assert attribution_of("1") == (None, None, None, None, None)
    attribution.save_mapping(imported, "pod", "SOPORTE", target_id=care.id)
    attribution.save_mapping(imported, "segment", "Residencial", target_id=residential.id)
    attribution.save_mapping(imported, "stage", "Posventa", target_id=stages[3].id)
    attribution.save_mapping(imported, "request_type", "Garantía", target_value="warranty")
    db.session.commit()
    changed = attribution.reattribute_cases(imported)
    db.session.commit()
    assert changed == 3
    assert attribution_of("1") == (care.id, residential.id, stages[3].id, "warranty", agent.id)
    assert attribution_of("2")[0] == care.id and attribution_of("2")[4] == agent.id
    assert attribution_of("3") == (None, residential.id, stages[3].id, "warranty", None)
    assert attribution.reattribute_cases(imported) == 0  # nothing left to change


def test_coverage_decides_the_pod_over_the_group(imported, make_pod, make_segment, stages):
    care, closers = make_pod("Care"), make_pod("Closers")
    residential = make_segment("Residential")
    attribution.save_mapping(None, "pod", "Soporte", target_id=care.id)
    attribution.save_mapping(None, "segment", "Residencial", target_id=residential.id)
    attribution.save_mapping(None, "stage", "Posventa", target_id=stages[3].id)
    org.assign_coverage(imported, closers, residential, stages[3], now=datetime(2026, 1, 1))
    db.session.commit()
    attribution.reattribute_cases(None)
    db.session.commit()
    assert attribution_of("1")[0] == closers.id  # the cell's owner, though the group maps to Care
    assert attribution_of("2")[0] == care.id  # no coverage for (Pymes, Venta): the group's pod
    assert attribution_of("3")[0] == closers.id


def test_mapping_rejects_unknown_targets(imported):
    for code, kind, value, target in (
        ("unknown_target", "pod", "Soporte", {"target_id": 999_999}),
        ("unknown_target", "request_type", "Queja", {"target_value": "moan"}),
        ("unknown_kind", "planet", "Queja", {"target_value": "complaint"}),
        ("bad_value", "request_type", "   ", {"target_value": "complaint"}),
    ):
        with pytest.raises(attribution.MappingError) as refused:
            attribution.save_mapping(None, kind, value, **target)
        assert (refused.value.code, refused.value.status) == (code, 400)
        assert str(refused.value) == str(attribution.MappingError.MESSAGES[code])


def test_saving_a_value_again_in_other_case_replaces_its_mapping(imported):
    attribution.save_mapping(None, "request_type", "Queja", target_value="complaint")
    attribution.save_mapping(None, "request_type", "QUEJA", target_value="claim")
    db.session.commit()
    mappings = db.session.scalars(select(ValueMapping)).all()
    assert [(m.source_value, m.target_value) for m in mappings] == [("Queja", "claim")]


# --- the page -------------------------------------------------------------------------------------


def test_page_lists_unmapped_values_and_maps_them(client, auth, imported, make_pod):
    care = make_pod("Care")
    auth.login(imported)
    page = client.get("/imports/mappings").get_data(as_text=True)
    assert 'id="unmapped-segment"' in page and "Residencial" in page and "Garantía" in page
    assert f'<option value="{care.id}">Care</option>' in page and 'value="warranty"' in page
    response = client.post("/imports/mappings", data={"kind": "pod", "source_value": "Soporte",
                                                      "target": str(care.id)})
    assert response.status_code == 303
    response = client.post("/imports/mappings", data={"kind": "request_type", "source_value": "Garantía",
                                                      "target": "warranty"})
    assert response.status_code == 303
    assert attribution_of("1")[0] is None  # not applied before re-attribution
    response = client.post("/imports/mappings/reattribute", follow_redirects=True)
    assert response.status_code == 200 and "3 changed" in response.get_data(as_text=True)
    assert attribution_of("1")[0] == care.id and attribution_of("1")[3] == "warranty"
    assert attribution_of("2")[0] == care.id
    page = client.get("/imports/mappings").get_data(as_text=True)
    assert 'id="mapped-pod"' in page
    unmapped_pod = page.split('id="mappings-pod"')[1].split("</section>")[0]
    assert "Empresas" in unmapped_pod and "Soporte</td>" in unmapped_pod.split('id="mapped-pod"')[1]


def test_page_removes_a_mapping(client, auth, imported):
    mapping = attribution.save_mapping(None, "request_type", "Queja", target_value="complaint")
    db.session.commit()
    auth.login(imported)
    assert client.post(f"/imports/mappings/{mapping.id}/delete").status_code == 303
    assert db.session.scalar(select(ValueMapping)) is None
    assert client.post(f"/imports/mappings/{mapping.id}/delete").status_code == 404


@pytest.mark.parametrize("data", [
    {"kind": "pod", "source_value": "Soporte", "target": "999999"},
    {"kind": "pod", "source_value": "Soporte", "target": "abc"},
    {"kind": "request_type", "source_value": "Queja", "target": "moan"},
    {"kind": "planet", "source_value": "Queja", "target": "complaint"},
    {"kind": "pod", "source_value": "", "target": "1"},
    {"kind": "pod", "source_value": "x" * 300, "target": "1"},
    {"kind": "segment", "source_value": "bad\x00value", "target": "1"},
])
def test_page_refuses_bad_mappings_with_a_400(client, auth, imported, data):
    auth.login(imported)
    response = client.post("/imports/mappings", data=data)
    page = response.get_data(as_text=True)
    # NUL is refused before any view runs (app.validators.refuse_hostile_input); the rest by the mapping form.
    assert response.status_code == 400 and ('id="mapping-error"' in page or "not allowed" in page)
    assert db.session.scalar(select(ValueMapping)) is None


def test_mapping_page_query_count_does_not_grow_with_data(client, auth, imported, tmp_path, make_pod,
                                                          count_queries):
    auth.login(imported)
    with count_queries() as few:
        assert client.get("/imports/mappings").status_code == 200
    for n in range(8):
        pod = make_pod(f"Pod {n}")
        attribution.save_mapping(None, "pod", f"Group {n}", target_id=pod.id)
        attribution.save_mapping(None, "request_type", f"Type {n}", target_value="claim")
    rows = [zendesk_row(Id=f"m{n}", Group=f"Other {n}", Assignee=f"Person {n}") for n in range(40)]
    ingest.import_file(zendesk_file(tmp_path, rows, "more.csv"), fmt="zendesk", timezone="UTC")
    db.session.commit()
    with count_queries() as many:
        assert client.get("/imports/mappings").status_code == 200
    assert many.count == few.count and many.count <= 25


def test_membership_gives_the_pod_when_nothing_else_does(imported, make_pod, make_user):
    agent = make_user("agent", email="ana@example.test", name="Ana Torres")
    pod = make_pod("Care", members=[agent], start=date(2026, 1, 1))
    attribution.reattribute_cases(None)
    db.session.commit()
    assert attribution_of("1")[0] == pod.id and attribution_of("3")[0] is None


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "pod", "source_value": "Soporte", "target": "999999"}, "Choose what the value means in Podium"),
    ({"kind": "pod", "source_value": "Soporte", "target": "abc"}, "Choose what the value means in Podium"),
    ({"kind": "request_type", "source_value": "Queja", "target": "moan"}, "Choose what the value means in Podium"),
])
def test_refused_mapping_says_why_and_keeps_what_was_typed(client, auth, imported, data, message):
    auth.login(imported)
    response = client.post("/imports/mappings", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    # The "map another value" form of that kind comes back open, with the value typed and the refusal beside it.
    kind = data["kind"]
    assert page.count("<details open>") == 1
    assert re.search(r'<details open>\s*<summary>[^<]*</summary>\s*<form [^>]*aria-describedby="mapping-error"', page)
    assert re.search(rf'id="new-{kind}-value"[^>]* value="{data["source_value"]}"', page)
    assert db.session.scalar(select(ValueMapping)) is None
