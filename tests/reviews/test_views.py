"""Review pages: who may see and do what, bad input, exports, the leader view and its query count."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from app.extensions import db
from app.reviews import services as svc
from app.reviews.models import KeyResult, Review
from tests.pdf_text import pdf_text

Q3 = (2026, 3)


@pytest.fixture
def review(team, make_case):
    make_case(team.pod, date(2026, 7, 6), csat=5)
    make_case(team.pod, date(2026, 8, 7), csat=1)
    db.session.commit()
    created = svc.open_review(team.coach, team.pod, *Q3)
    db.session.commit()
    return created


def _sign(team, review):
    svc.submit(team.coach, review)
    svc.sign_off(team.leader, review)
    db.session.commit()


def test_agent_reads_only_their_pods_signed_reviews(client, auth, team, review):
    auth.login(team.agent)
    assert client.get(f"/reviews/{review.id}").status_code == 403  # a draft
    assert b"Home pod" not in client.get("/reviews/").data
    _sign(team, review)
    page = client.get(f"/reviews/{review.id}")
    assert page.status_code == 200 and b"Signed off" in page.data and b'id="sign-off"' not in page.data
    assert b"<textarea" not in page.data
    assert client.post(f"/reviews/{review.id}/narrative", data={"section": "wins", "text": "x"}).status_code == 403
    assert client.get(f"/reviews/{review.id}/review.pdf").status_code == 200
    auth.logout()
    auth.login(team.other_agent)
    assert client.get(f"/reviews/{review.id}").status_code == 403
    assert client.get(f"/reviews/{review.id}/review.csv").status_code == 403
    assert client.get("/reviews/all").status_code == 403


def test_coach_edits_their_pods_draft_but_cannot_sign_off(client, auth, team, review):
    auth.login(team.coach)
    response = client.post(f"/reviews/{review.id}/narrative", data={"section": "wins", "text": "FCR up"})
    assert response.status_code == 302
    assert client.post(f"/reviews/{review.id}/objectives", data={"title": "Happier customers"}).status_code == 302
    objective = review.objectives[0] if review.objectives else db.session.get(Review, review.id).objectives[0]
    response = client.post(f"/reviews/{review.id}/objectives/{objective.id}/key-results",
                           data={"metric": "csat", "target": "85", "confidence": "6"})
    assert response.status_code == 302
    assert db.session.query(KeyResult).one().target == 0.85
    assert client.post(f"/reviews/{review.id}/submit").status_code == 302
    assert client.post(f"/reviews/{review.id}/sign-off").status_code == 403
    assert db.session.get(Review, review.id).status == "in_review"
    page = client.get(f"/reviews/{review.id}").data.decode()
    assert "FCR up" in page and "Happier customers" in page and 'id="sign-off"' not in page
    auth.logout()
    auth.login(team.other_coach)
    assert client.get(f"/reviews/{review.id}").status_code == 403
    assert client.post(f"/reviews/{review.id}/narrative", data={"section": "wins", "text": "x"}).status_code == 403


def test_leader_signs_off_and_reopens_with_a_reason(client, auth, team, review):
    svc.submit(team.coach, review)
    db.session.commit()
    auth.login(team.leader)
    assert b'id="sign-off"' in client.get(f"/reviews/{review.id}").data
    assert client.post(f"/reviews/{review.id}/sign-off").status_code == 302
    assert client.post(f"/reviews/{review.id}/sign-off").status_code == 409
    assert client.post(f"/reviews/{review.id}/reopen", data={"reason": ""}).status_code == 400
    assert client.post(f"/reviews/{review.id}/reopen", data={"reason": "Wrong figures"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Review, review.id).status == "draft"
    assert b"Wrong figures" in client.get(f"/reviews/{review.id}").data


@pytest.mark.parametrize("data", [
    {"pod_id": "abc", "quarter": "2026-Q3"}, {"pod_id": "999999", "quarter": "2026-Q3"},
    {"quarter": "2026-Q3"}, {"pod_id": "99999999999999999999", "quarter": "2026-Q3"},
    {"pod_id": "POD", "quarter": "2026-Q5"}, {"pod_id": "POD", "quarter": "junk"},
])
def test_opening_with_bad_input_is_a_4xx(client, auth, team, data):
    auth.login(team.coach)
    data = {k: (str(team.pod.id) if v == "POD" else v) for k, v in data.items()}
    assert client.post("/reviews/open", data=data).status_code == 400


def test_open_from_the_list(client, auth, team):
    auth.login(team.coach)
    assert client.post("/reviews/open", data={"pod_id": team.other_pod.id, "quarter": "2026-Q3"}).status_code == 403
    response = client.post("/reviews/open", data={"pod_id": team.pod.id, "quarter": "2026-q3"})
    assert response.status_code == 302
    assert db.session.query(Review).one().key == "2026-Q3"
    assert b"2026-Q3" in client.get("/reviews/").data


def test_bad_key_result_input_is_a_4xx(client, auth, team, review):
    objective = svc.add_objective(team.coach, review, "Fast")
    db.session.commit()
    auth.login(team.coach)
    url = f"/reviews/{review.id}/objectives/{objective.id}/key-results"
    assert client.post(url, data={"metric": "csat", "target": "abc", "confidence": "5"}).status_code == 400
    assert client.post(url, data={"metric": "volume", "target": "5", "confidence": "5"}).status_code == 400
    assert client.post(url, data={"metric": "csat", "target": "90", "confidence": "12"}).status_code == 400
    assert client.post(f"/reviews/{review.id}/objectives/999999/key-results",
                       data={"metric": "csat", "target": "90"}).status_code == 404
    assert client.post(f"/reviews/{review.id}/narrative", data={"section": "nope", "text": "x"}).status_code == 400
    assert client.get("/reviews/999999").status_code == 404
    assert client.get("/reviews/99999999999999999999").status_code == 404
    assert client.post("/reviews/key-results/99999999999999999999/confidence", data={"confidence": "5"}).status_code == 404
    assert db.session.query(KeyResult).count() == 0


def test_pdf_prints_a_narrative_beyond_latin_1(client, auth, team, review):
    svc.save_narrative(team.coach, review, "wins", "Ahorro de 1.200 € · Győr · Łódź 🎉")
    db.session.commit()
    auth.login(team.coach)
    pdf = client.get(f"/reviews/{review.id}/review.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert b"DejaVuSans" in pdf.data  # the Unicode font is embedded, not a built-in Latin-1 one
    assert "Ahorro de 1.200 € · Győr · Łódź" in pdf_text(pdf.data)


def test_csv_pdf_and_print_carry_the_pods_figures(client, auth, team, review):
    _sign(team, review)
    auth.login(team.leader)
    rows = list(csv.DictReader(io.StringIO(client.get(f"/reviews/{review.id}/review.csv").data.decode("utf-8-sig"))))
    volume = next(row for row in rows if row["metric"] == "volume")
    assert (volume["pod"], volume["quarter"], volume["value"]) == ("Home pod", "2026-Q3", "2")
    csat = next(row for row in rows if row["metric"] == "csat")
    assert (csat["numerator"], csat["denominator"], float(csat["value"])) == ("1", "2", 0.5)
    pdf = client.get(f"/reviews/{review.id}/review.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "Home pod" in pdf_text(pdf.data) and "50.0%" in pdf_text(pdf.data)
    page = client.get(f"/reviews/{review.id}/print")
    assert page.status_code == 200 and b"50.0%" in page.data and b"Home pod" in page.data


def test_csv_follows_the_readers_locale(client, auth, team, review):
    """A Spanish or Italian spreadsheet opens the file as columns of numbers: ';' between cells, a decimal comma."""
    _sign(team, review)
    for locale in ("es", "it"):
        team.leader.locale = locale
        db.session.commit()
        auth.login(team.leader)
        response = client.get(f"/reviews/{review.id}/review.csv")
        assert response.data.startswith("\ufeff".encode())  # spreadsheets read the accents as UTF-8
        rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
        csat = next(row for row in rows if row["metric"] == "csat")
        assert (csat["value"], csat["numerator"], csat["denominator"]) == ("0,5", "1", "2"), locale
        auth.logout()


def test_leader_view_side_by_side_with_status_colours_and_sorting(client, auth, team, make_case, review):
    from app.outcomes import targets as T

    make_case(team.other_pod, date(2026, 7, 9), csat=5)
    db.session.commit()
    T.set_pod_targets(team.leader, team.pod, *Q3, {"csat": 0.9})
    T.set_pod_targets(team.leader, team.other_pod, *Q3, {"csat": 0.9})
    db.session.commit()
    auth.login(team.leader)
    page = client.get("/reviews/all?quarter=2026-Q3&sort=csat&dir=desc").data.decode()
    assert page.index("Other pod") < page.index("Home pod")
    other_row = page[page.index(f'id="matrix-pod-{team.other_pod.id}"'):]
    assert "status-good" in other_row.split("</tr>")[0]
    home_row = page[page.index(f'id="matrix-pod-{team.pod.id}"'):]
    assert "status-bad" in home_row.split("</tr>")[0]
    assert 'id="outcomes-heat-map"' in page
    assert client.get("/reviews/all?quarter=2026-Q9").status_code == 400
    assert client.get("/reviews/all?sort=bogus").status_code == 400
    rows = list(csv.DictReader(io.StringIO(client.get("/reviews/all.csv?quarter=2026-Q3").data.decode("utf-8-sig"))))
    assert {"quarter": "2026-Q3", "pod": "Other pod", "metric": "csat", "value": "1.0", "target": "0.9",
            "target_status": "met"} in rows
    pdf = client.get("/reviews/all.pdf?quarter=2026-Q3")
    assert pdf.data.startswith(b"%PDF") and "Other pod" in pdf_text(pdf.data)
    auth.logout()
    auth.login(team.coach)
    assert client.get("/reviews/all").status_code == 403


def _leader_view_queries(client, count_queries):
    with count_queries() as counter:
        assert client.get("/reviews/all?quarter=2026-Q3").status_code == 200
    return counter.count


def test_leader_view_query_count_is_bounded_as_pods_and_quarters_grow(client, auth, team, make_pod, make_user,
                                                                     make_case, count_queries):
    auth.login(team.leader)
    make_case(team.pod, date(2026, 7, 6), csat=5)
    db.session.commit()
    small = _leader_view_queries(client, count_queries)
    for n in range(6):
        pod = make_pod(f"Extra pod {n}", coaches=[make_user("coach")], timezone="Europe/Rome" if n % 2 else
                       "Europe/Madrid")
        for quarter_start in (date(2025, 10, 5), date(2026, 1, 5), date(2026, 4, 5), date(2026, 7, 5)):
            make_case(pod, quarter_start, csat=4)
        svc.open_review(team.leader, pod, *Q3)
    db.session.commit()
    large = _leader_view_queries(client, count_queries)
    assert large <= small + 2, (small, large)  # a second time zone adds at most the pod join, never per pod
    print(f"leader view queries: {small} with 2 pods, {large} with 8 pods")


def test_review_page_query_count_does_not_grow_with_objectives(client, auth, team, review, count_queries):
    auth.login(team.coach)
    first = svc.add_objective(team.coach, review, "One")
    svc.add_key_result(team.coach, first, "fcr", 0.8, 5)
    svc.save_narrative(team.coach, review, "wins", "first")
    db.session.commit()
    with count_queries() as counter:
        assert client.get(f"/reviews/{review.id}").status_code == 200
    few = counter.count
    for n in range(5):
        objective = svc.add_objective(team.coach, review, f"Objective {n}")
        svc.add_key_result(team.coach, objective, "csat", 0.9, 5)
        svc.save_narrative(team.coach, review, "wins", f"version {n}")
    db.session.commit()
    with count_queries() as counter:
        assert client.get(f"/reviews/{review.id}").status_code == 200
    assert counter.count == few, (few, counter.count)


def test_nav_item_is_registered(team):
    from app.extension_points import nav_items_for

    assert "reviews.index" in [item.endpoint for item in nav_items_for(team.agent)]


def test_page_and_pdf_show_each_features_quarter_as_the_feature_words_it(client, auth, team, review):
    """Reviews name no feature's figures: every registered part (stand-ups, retro actions, autonomy,
    recognition, skills) shows on the page and in the PDF with the sentences its feature gives."""
    from datetime import datetime

    from app.autonomy.models import ActionType, Decision
    from app.extension_points import QUARTER_ACTIVITIES
    from app.retros.models import Retro, RetroAction

    aug = datetime(2026, 8, 10, 9)
    refund = ActionType(code="refund", name="Refund", unit="money", currency="EUR")
    db.session.add(refund)
    db.session.flush()
    for status, within in (("done", True), ("approved", False)):
        db.session.add(Decision(decided_at=aug, requested_at=aug, within_limit=within, status=status,
                                agent_id=team.agent.id, pod_id=team.pod.id, action_type_id=refund.id, amount=100))
    retro = Retro(pod_id=team.pod.id, title="July retro", template_key="start_stop_continue", columns=[])
    db.session.add(retro)
    db.session.flush()
    db.session.add(RetroAction(retro_id=retro.id, pod_id=team.pod.id, title="Guide", due_date=date(2026, 8, 1),
                               principle="end_to_end", status="done"))
    db.session.commit()

    auth.login(team.coach)
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    shown = [item.key for item in QUARTER_ACTIVITIES if f'id="activity-{item.key}"' in page]
    assert shown == ["standups", "retro_actions", "autonomy", "recognition", "skills"]
    assert "2 decisions, 1 within the limit" in page and "Approvals: 1 approved, 0 rejected (100.0%)" in page
    assert "1 done, 0 open, 0 dropped of 1 due this quarter" in page
    text = pdf_text(client.get(f"/reviews/{review.id}/review.pdf").data)
    assert "Autonomy: 2 decisions, 1 within the limit; Approvals: 1 approved, 0 rejected (100.0%)" in text
    assert "Retro actions: 1 done, 0 open, 0 dropped of 1 due this quarter" in text


def test_scorecard_figures_link_to_the_cases_counted(client, auth, team, review):
    """Each figure drills down to its case list, with as many cases as the figure counted; a figure with no value
    (no survey in the earlier quarters) has no link."""
    import html
    import re

    auth.login(team.coach)
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    row = page[page.index('id="score-csat"'):]
    row = row[:row.index("</tr>")]
    link = re.search(r'class="review-value"><a href="([^"]+)"', row)
    assert link, row
    cases = client.get(html.unescape(link.group(1)))
    assert cases.status_code == 200
    assert '<p id="case-list-total">2 cases' in cases.get_data(as_text=True)  # both surveyed cases of Q3
    assert row.count("<a href=") == 1  # the previous quarter and last year had no CSAT: nothing to list
