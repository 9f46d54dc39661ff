"""Stand-up pages: access by role, own entries, the 204 poll, walking the board, bad input, bounded queries."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.standups import services as svc
from app.standups.models import Blocker, StandupBoard, StandupEntry

HX = {"HX-Request": "true"}


def _open(client, auth, user, pod):
    auth.login(user)
    response = client.get(f"/standups/pods/{pod.id}")
    assert response.status_code == 200, response.status_code
    return db.session.scalar(select(StandupBoard).where(StandupBoard.pod_id == pod.id))


def test_first_visit_creates_todays_board_and_shows_the_outcomes_strip(client, auth, every_day):
    board = _open(client, auth, every_day.agent, every_day.pod)
    page = client.get(f"/standups/boards/{board.id}").get_data(as_text=True)
    assert 'id="outcomes-strip"' in page and "SLA attainment" in page and "Handoff rate" in page
    assert 'id="entry-form"' in page
    assert re.search(rf'/standups/boards/{board.id}/live\?t=[^"&]+&amp;v={board.version}"', page)


def test_each_strip_figure_links_to_the_cases_it_counted(client, auth, every_day):
    """Yesterday's volume on the strip drills down to a case list with exactly those cases."""
    import html
    from datetime import datetime, timedelta

    from app.outcomes.models import Case

    board = _open(client, auth, every_day.agent, every_day.pod)
    day = svc.previous_working_day(every_day.pod, board.day)
    for n, hours in enumerate((10, 12, 14)):  # midday in the pod's zone, whatever it is
        created = datetime.combine(day, datetime.min.time()) + timedelta(hours=hours)
        db.session.add(Case(source="podium", external_id=f"S-{n}", status="open", pod_id=every_day.pod.id,
                            channel="phone", priority="normal", created_at=created, replies=1, reopens=0,
                            group_stations=1, assignee_stations=1))
    db.session.commit()
    page = client.get(f"/standups/boards/{board.id}").get_data(as_text=True)
    item = page[page.index('data-metric="volume"'):]
    link = re.search(r'class="outcome-value"><a href="([^"]+)">3<', item[:item.index("</li>")])
    assert link, item[:400]
    listed = client.get(html.unescape(link.group(1))).get_data(as_text=True)
    assert '<p id="case-list-total">3 cases' in listed


def test_an_agent_of_another_pod_cannot_read_or_post(client, auth, every_day):
    board = svc.board_for_today(every_day.pod)
    db.session.commit()
    auth.login(every_day.other_agent)
    assert client.get(f"/standups/pods/{every_day.pod.id}").status_code == 403
    assert client.get(f"/standups/boards/{board.id}").status_code == 403
    assert client.get(f"/standups/boards/{board.id}/live?v=0").status_code == 403
    response = client.post(f"/standups/boards/{board.id}/entry", data={"yesterday": "x", "today": "y"})
    assert response.status_code == 403


def test_a_coach_of_another_pod_reads_but_cannot_post_or_walk(client, auth, every_day):
    board = svc.board_for_today(every_day.pod)
    db.session.commit()
    auth.login(every_day.other_coach)
    page = client.get(f"/standups/boards/{board.id}").get_data(as_text=True)
    assert 'id="board-live"' in page and 'id="entry-form"' not in page and "Start the stand-up" not in page
    assert client.post(f"/standups/boards/{board.id}/entry", data={"today": "y"}).status_code == 403
    assert client.post(f"/standups/boards/{board.id}/walk/start").status_code == 403


def test_posting_updates_the_version_and_the_poll_answers_204_when_unchanged(client, auth, every_day, app):
    board = _open(client, auth, every_day.agent, every_day.pod)
    version = board.version
    assert client.get(f"/standups/boards/{board.id}/live?v={version}", headers=HX).status_code == 204
    response = client.post(f"/standups/boards/{board.id}/entry", headers=HX,
                           data={"yesterday": "Closed the refund queue", "today": "Claims", "mood": "4"})
    assert response.status_code == 200 and "Your update is on the board." in response.get_data(as_text=True)
    live = client.get(f"/standups/boards/{board.id}/live?v={version}", headers=HX)
    assert live.status_code == 200
    body = live.get_data(as_text=True)
    assert "Closed the refund queue" in body
    new_version = int(re.search(r'data-version="(\d+)"', body).group(1))
    assert new_version > version
    assert client.get(f"/standups/boards/{board.id}/live?v={new_version}", headers=HX).status_code == 204
    # Another member's own entry is separate: nobody can write someone else's.
    client.post("/logout")
    auth.login(every_day.mate)
    client.post(f"/standups/boards/{board.id}/entry", data={"yesterday": "Mine", "today": ""})
    entries = {e.user_id: e.yesterday for e in db.session.scalars(select(StandupEntry))}
    assert entries == {every_day.agent.id: "Closed the refund queue", every_day.mate.id: "Mine"}


@pytest.mark.parametrize("data", [
    {"yesterday": "", "today": ""},
    {"yesterday": "x", "mood": "9"},
    {"yesterday": "x", "mood": "happy"},
    {"yesterday": "x" * 2500},
])
def test_bad_entries_get_a_clear_400(client, auth, every_day, data):
    board = _open(client, auth, every_day.agent, every_day.pod)
    response = client.post(f"/standups/boards/{board.id}/entry", data=data)
    assert response.status_code == 400
    assert db.session.scalar(select(StandupEntry.id)) is None


def test_no_page_or_fragment_gives_the_mood_away_before_the_board_closes(client, auth, every_day):
    board = _open(client, auth, every_day.coach, every_day.pod)
    moods = {every_day.agent: 5, every_day.mate: 1, every_day.third: 3}
    pages = []
    for person, mood in moods.items():
        client.post("/logout")
        auth.login(person)
        client.post(f"/standups/boards/{board.id}/entry", headers=HX,
                    data={"yesterday": "x", "today": "y", "mood": str(mood)})
        pages += [client.get(f"/standups/boards/{board.id}").get_data(as_text=True),
                  client.get(f"/standups/pods/{every_day.pod.id}").get_data(as_text=True),
                  client.get(f"/standups/boards/{board.id}/live?v=0", headers=HX).get_data(as_text=True),
                  client.get("/").get_data(as_text=True)]
    for page in pages:
        assert "Pod mood:" not in page and "/ 5" not in page
        assert "The pod mood shows when the board closes" in page or 'id="mood"' not in page
    client.post("/logout")
    auth.login(every_day.coach)
    client.post(f"/standups/boards/{board.id}/walk/close")
    closed = client.get(f"/standups/boards/{board.id}/live?v=0", headers=HX).get_data(as_text=True)
    assert "Pod mood: 3 / 5 from 3 answers" in closed


def test_bad_requests_are_4xx(client, auth, every_day):
    board = _open(client, auth, every_day.coach, every_day.pod)
    assert client.post(f"/standups/boards/{board.id}/walk/dance").status_code == 404
    assert client.post(f"/standups/boards/{board.id}/walk/next", data={"index": "x"}).status_code == 400
    assert client.post(f"/standups/boards/{board.id}/walk/next", data={"index": "0"}).status_code == 409
    assert client.post("/standups/blockers/999/resolve", data={"board_id": board.id}).status_code == 404
    assert client.get(f"/standups/pods/{every_day.pod.id}/history?month=2026-13").status_code == 400
    assert client.get(f"/standups/pods/{every_day.pod.id}/history?month=soon").status_code == 400
    assert client.get("/standups/boards/99999").status_code == 404
    assert client.get("/standups/boards/99999/live?v=1").status_code == 404
    response = client.post(f"/standups/boards/{board.id}/blockers", data={"description": "", "owner_id": "x"})
    assert response.status_code == 400
    every_day.other_pod.active = False
    db.session.commit()
    assert client.get(f"/standups/pods/{every_day.other_pod.id}").status_code == 404


def test_blockers_and_walking_through_the_pages(client, auth, every_day):
    board = _open(client, auth, every_day.agent, every_day.pod)
    response = client.post(f"/standups/boards/{board.id}/blockers", headers=HX,
                           data={"description": "Billing tool keeps timing out", "case_ref": "Z-4411",
                                 "owner_id": str(every_day.agent.id)})
    assert response.status_code == 200 and "Billing tool keeps timing out" in response.get_data(as_text=True)
    blocker = db.session.scalar(select(Blocker))
    client.post("/logout")
    auth.login(every_day.mate)  # not the owner, not a coach
    assert client.post(f"/standups/blockers/{blocker.id}/resolve", data={"board_id": board.id}).status_code == 403
    client.post("/logout")
    auth.login(every_day.coach)
    page = client.post(f"/standups/boards/{board.id}/walk/start", headers=HX).get_data(as_text=True)
    assert f'id="person-{every_day.agent.id}"' in page and 'class="person speaking"' in page
    page = client.post(f"/standups/boards/{board.id}/walk/next", headers=HX, data={"index": "0"}).get_data(as_text=True)
    assert re.search(rf'class="person speaking" id="person-{every_day.mate.id}"', page)
    assert client.post(f"/standups/blockers/{blocker.id}/escalate", headers=HX,
                       data={"board_id": board.id}).status_code == 200
    assert client.post(f"/standups/boards/{board.id}/walk/close").status_code == 302
    db.session.expire_all()
    assert db.session.get(StandupBoard, board.id).is_closed
    frozen = client.get(f"/standups/boards/{board.id}/live?v=0", headers=HX).get_data(as_text=True)
    assert 'data-status="closed"' in frozen and "hx-trigger" not in frozen and "Resolve" not in frozen
    client.post("/logout")
    auth.login(every_day.agent)
    assert client.post(f"/standups/boards/{board.id}/entry", data={"today": "late"}).status_code == 409


def test_settings_and_history_pages(client, auth, every_day):
    board = _open(client, auth, every_day.coach, every_day.pod)
    response = client.post(f"/standups/pods/{every_day.pod.id}/settings",
                           data={"escalate_after_days": "4", "timebox_seconds": "120"})
    assert response.status_code == 302
    assert svc.settings_for(every_day.pod.id).escalate_after_days == 4
    assert client.post(f"/standups/pods/{every_day.pod.id}/settings",
                       data={"escalate_after_days": "99", "timebox_seconds": "120"}).status_code == 400
    page = client.get(f"/standups/pods/{every_day.pod.id}/history").get_data(as_text=True)
    assert f"/standups/boards/{board.id}" in page and "median time to resolve" in page
    client.post("/logout")
    auth.login(every_day.agent)
    assert client.post(f"/standups/pods/{every_day.pod.id}/settings",
                       data={"escalate_after_days": "4", "timebox_seconds": "120"}).status_code == 403


def test_index_and_home_show_todays_status(client, auth, every_day):
    auth.login(every_day.agent)
    response = client.get("/standups/")
    assert response.status_code == 302 and f"/standups/pods/{every_day.pod.id}" in response.location
    home = client.get("/").get_data(as_text=True)
    assert 'id="home-standups"' in home and "Home pod" in home
    client.post("/logout")
    auth.login(every_day.leader)
    page = client.get("/standups/").get_data(as_text=True)
    assert "Home pod" in page and "Other pod" in page


def _fill(team, board, blockers: int) -> None:
    people = [team.agent, team.mate, team.third]
    for person in people:
        svc.save_entry(person, board, yesterday=f"work of {person.display_name}", today="more", mood=3)
    for n in range(blockers):
        svc.raise_blocker(people[n % 3], board, description=f"Blocker {n}", owner_id=people[(n + 1) % 3].id)
    db.session.commit()


def test_board_query_count_stays_bounded(client, auth, every_day, make_user, count_queries):
    from app.org import services as org

    board = _open(client, auth, every_day.coach, every_day.pod)
    _fill(every_day, board, 2)
    with count_queries() as small:
        assert client.get(f"/standups/boards/{board.id}").status_code == 200
    with count_queries() as small_live:
        assert client.get(f"/standups/boards/{board.id}/live?v=0").status_code == 200
    for n in range(6):
        extra = make_user("agent", name=f"Extra {n}")
        org.add_member(None, every_day.pod, extra, start=board.day.replace(day=1))
        db.session.commit()
        svc.save_entry(extra, board, yesterday="x", today="y", mood=4)
    _fill(every_day, board, 12)
    svc.start_walk(every_day.coach, board)
    db.session.commit()
    with count_queries() as large:
        assert client.get(f"/standups/boards/{board.id}").status_code == 200
    with count_queries() as large_live:
        assert client.get(f"/standups/boards/{board.id}/live?v=0").status_code == 200
    url = f"/standups/boards/{board.id}/live?v={db.session.get(StandupBoard, board.id).version}"
    with count_queries() as unchanged:
        assert client.get(url, headers=HX).status_code == 204
    assert large.count <= small.count + 1, (small.count, large.count)
    assert large_live.count <= small_live.count + 1
    assert large.count <= 40 and large_live.count <= 15
    assert unchanged.count <= 4, unchanged.statements  # the user, the board's version, the user's pods


def test_history_and_home_query_counts_stay_bounded(client, auth, every_day, count_queries):
    from datetime import timedelta

    auth.login(every_day.coach)
    today = svc.local_today(every_day.pod, svc.utcnow())
    first = today.replace(day=1)

    def boards(days):
        svc.ensure_board(every_day.pod, today)
        for offset in range(days):
            day = first + timedelta(days=offset)
            if day > today:
                break
            board = svc.ensure_board(every_day.pod, day)
            if board.is_closed or day == today:
                continue
            svc.save_entry(every_day.agent, board, yesterday="a", today="b", mood=None)
            blocker = svc.raise_blocker(every_day.agent, board, description=f"b{offset}")
            svc.resolve_blocker(every_day.agent, blocker)
        db.session.commit()

    pod_id = every_day.pod.id
    boards(1)
    with count_queries() as small:
        assert client.get(f"/standups/pods/{pod_id}/history").status_code == 200
    with count_queries() as small_home:
        assert client.get("/").status_code == 200
    boards(28)
    with count_queries() as large:
        assert client.get(f"/standups/pods/{pod_id}/history").status_code == 200
    with count_queries() as large_home:
        assert client.get("/").status_code == 200
    assert large.count == small.count, (small.count, large.count)
    assert large_home.count == small_home.count
