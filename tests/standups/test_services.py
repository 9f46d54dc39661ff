"""Stand-up rules: one board per pod and day, own entries, mood privacy, blockers, walking the board."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.notifications.models import Notification
from app.standups import services as svc
from app.standups.models import Attendance, BoardBlocker, BoardStatus, StandupBoard, StandupEntry

from .conftest import NOW

WED = date(2026, 3, 11)


def _board(team, day=WED, now=NOW):
    board = svc.ensure_board(team.pod, day, now=now)
    db.session.commit()
    return board


def test_board_is_made_once_per_pod_and_day(team):
    first = _board(team)
    again = svc.ensure_board(team.pod, WED, now=NOW)
    assert again.id == first.id
    assert first.expected_count == 3
    assert db.session.scalar(select(func.count()).select_from(StandupBoard)) == 1


def test_today_follows_the_pods_zone_and_working_days(team, make_pod):
    # 22:30 UTC on Friday is Saturday morning in Tokyo: no board there; still Friday in Madrid.
    tokyo = make_pod("Tokyo pod", timezone="Asia/Tokyo")
    friday_night = datetime(2026, 3, 13, 22, 30)
    assert svc.board_for_today(tokyo, friday_night) is None
    assert svc.board_for_today(team.pod, friday_night).day == date(2026, 3, 13)


def test_job_creates_boards_shortly_before_standup_only(team, make_pod):
    ny = make_pod("New York pod", timezone="America/New_York", standup_time=time(9, 0))
    # 08:45 UTC = 09:45 Madrid (after 09:00 lead) and 04:45 New York (too early).
    assert svc.create_due_boards(datetime(2026, 3, 11, 8, 45)) == 2  # home and other pod (both Madrid)
    assert svc.create_due_boards(datetime(2026, 3, 11, 8, 50)) == 0
    days = dict(db.session.execute(select(StandupBoard.pod_id, StandupBoard.day)).all())
    assert ny.id not in days
    # 12:35 UTC = 08:35 in New York (EDT since 8 March): inside the 30-minute lead.
    assert svc.create_due_boards(datetime(2026, 3, 11, 12, 35)) == 1
    board = db.session.scalar(select(StandupBoard).where(StandupBoard.pod_id == ny.id))
    assert board.day == WED and board.created_by == "job"


def test_a_new_day_freezes_the_previous_board(team):
    tuesday = _board(team, date(2026, 3, 10))
    svc.save_entry(team.agent, tuesday, yesterday="calls", today="emails", mood=None)
    _board(team, WED)
    db.session.refresh(tuesday)
    assert tuesday.is_closed
    with pytest.raises(svc.StandupError) as err:
        svc.save_entry(team.agent, tuesday, yesterday="late", today="", mood=None)
    assert err.value.status == 409


def test_members_post_and_edit_only_their_own_entry(team):
    board = _board(team)
    entry = svc.save_entry(team.agent, board, yesterday="Closed 12 claims", today="Refund backlog", mood=4, now=NOW)
    version = board.version
    edited = svc.save_entry(
        team.agent, board, yesterday="Closed 13 claims", today="Refund backlog", mood=3, now=NOW + timedelta(minutes=5)
    )
    db.session.commit()
    db.session.refresh(board)
    assert edited.id == entry.id and edited.yesterday == "Closed 13 claims"
    assert board.version > version
    assert db.session.scalar(select(func.count()).select_from(StandupEntry)) == 1
    for outsider in (team.other_agent, team.leader):
        with pytest.raises(svc.StandupError) as err:
            svc.save_entry(outsider, board, yesterday="x", today="y", mood=None)
        assert err.value.status == 403


@pytest.mark.parametrize(
    "kwargs",
    [
        {"yesterday": "", "today": "  ", "mood": None},
        {"yesterday": "x", "today": "y", "mood": 6},
        {"yesterday": "x" * 2001, "today": "", "mood": None},
    ],
)
def test_bad_entries_are_refused(team, kwargs):
    board = _board(team)
    with pytest.raises(svc.StandupError) as err:
        svc.save_entry(team.agent, board, **kwargs)
    assert err.value.status == 400


def test_mood_is_hidden_while_the_board_is_open_so_no_single_answer_can_be_worked_out(team):
    """A live average that moves after each named entry gives each mood away (3.4 x 5 - 4 x 4 = 1)."""
    board = _board(team)
    svc.save_entry(team.agent, board, yesterday="a", today="b", mood=5)
    svc.save_entry(team.mate, board, yesterday="a", today="b", mood=2)
    svc.save_entry(team.third, board, yesterday="a", today="b", mood=4)
    view = svc.board_view(board, NOW)
    assert (view.mood_answers, view.mood_average) == (None, None), "not even the number of answers while open"
    svc.close_board(team.coach, board, NOW)
    view = svc.board_view(board, NOW)
    assert (view.mood_answers, view.mood_average) == (3, 3.7), "once frozen, the pod aggregate"


def test_a_closed_board_with_too_few_moods_shows_no_average(team):
    board = _board(team)
    svc.save_entry(team.agent, board, yesterday="a", today="b", mood=5)
    svc.save_entry(team.mate, board, yesterday="a", today="b", mood=2)
    svc.save_entry(team.third, board, yesterday="a", today="b", mood=None)
    svc.close_board(team.coach, board, NOW)
    view = svc.board_view(board, NOW)
    assert (view.mood_answers, view.mood_average) == (2, None)


def test_blockers_carry_over_until_resolved(team):
    monday = _board(team, date(2026, 3, 9))
    kept = svc.raise_blocker(
        team.agent, monday, description="CRM down for refunds", case_ref="Z-77", now=datetime(2026, 3, 9, 9)
    )
    gone = svc.raise_blocker(team.mate, monday, description="Printer jam", now=datetime(2026, 3, 9, 9))
    svc.resolve_blocker(team.mate, gone, now=datetime(2026, 3, 9, 12))
    db.session.commit()
    tuesday = _board(team, date(2026, 3, 10))
    shown = set(db.session.scalars(select(BoardBlocker.blocker_id).where(BoardBlocker.board_id == tuesday.id)))
    assert shown == {kept.id}
    wednesday = _board(team, WED)
    view = svc.board_view(wednesday, NOW)
    assert [(b.blocker.id, b.status, b.age) for b in view.blockers] == [(kept.id, "open", 2)]
    # Monday was frozen with both blockers as they stood when it closed.
    frozen = dict(
        db.session.execute(
            select(BoardBlocker.blocker_id, BoardBlocker.status_at_close).where(BoardBlocker.board_id == monday.id)
        ).all()
    )
    assert frozen == {kept.id: "open", gone.id: "resolved"}


def test_only_owner_or_coach_resolves_or_escalates(team):
    board = _board(team)
    blocker = svc.raise_blocker(team.agent, board, description="No access to billing", owner_id=team.mate.id)
    with pytest.raises(svc.StandupError) as err:
        svc.resolve_blocker(team.agent, blocker)  # raised it but does not own it
    assert err.value.status == 403
    with pytest.raises(svc.StandupError):
        svc.escalate_blocker(team.other_coach, blocker)
    assert svc.escalate_blocker(team.mate, blocker, now=NOW)
    with pytest.raises(svc.StandupError) as err:
        svc.escalate_blocker(team.coach, blocker)
    assert err.value.status == 409
    svc.resolve_blocker(team.coach, blocker, now=NOW)
    with pytest.raises(svc.StandupError) as err:
        svc.resolve_blocker(team.coach, blocker)
    assert err.value.status == 409
    db.session.commit()
    notified = set(
        db.session.scalars(select(Notification.user_id).where(Notification.kind == "standup_blocker_escalated"))
    )
    assert notified == {team.coach.id, team.leader.id}


def test_blocker_owner_must_belong_to_the_pod(team):
    board = _board(team)
    with pytest.raises(svc.StandupError) as err:
        svc.raise_blocker(team.agent, board, description="x", owner_id=team.other_agent.id)
    assert err.value.status == 400
    with pytest.raises(svc.StandupError):
        svc.raise_blocker(team.agent, board, description="   ")


def test_walking_the_board_records_attendance_and_close_freezes(team):
    board = _board(team)
    with pytest.raises(svc.StandupError) as err:
        svc.start_walk(team.agent, board)
    assert err.value.status == 403
    svc.start_walk(team.coach, board, now=NOW)
    assert board.current_speaker_id == team.agent.id  # members in name order: Ana, Ben, Cris
    svc.advance_speaker(team.coach, board, expected_index=0, now=NOW + timedelta(seconds=80))
    with pytest.raises(svc.StandupError) as err:  # a double click on the same speaker advances once only
        svc.advance_speaker(team.coach, board, expected_index=0)
    assert err.value.status == 409
    assert board.current_speaker_id == team.mate.id
    svc.advance_speaker(team.coach, board, expected_index=1, skip=True)
    svc.advance_speaker(team.coach, board, expected_index=2)
    assert board.current_speaker_id is None
    attendance = dict(db.session.execute(select(Attendance.user_id, Attendance.status)).all())
    assert attendance == {team.agent.id: "present", team.mate.id: "skipped", team.third.id: "present"}
    svc.close_board(team.coach, board, now=NOW + timedelta(minutes=10))
    assert board.is_closed
    with pytest.raises(svc.StandupError):
        svc.raise_blocker(team.agent, board, description="late")
    with pytest.raises(svc.StandupError):
        svc.close_board(team.coach, board)


def test_settings_are_checked(team):
    with pytest.raises(svc.StandupError) as err:
        svc.save_settings(team.agent, team.pod, escalate_after_days=2, timebox_seconds=60)
    assert err.value.status == 403
    with pytest.raises(svc.StandupError):
        svc.save_settings(team.coach, team.pod, escalate_after_days=0, timebox_seconds=60)
    svc.save_settings(team.coach, team.pod, escalate_after_days=2, timebox_seconds=60)
    assert svc.settings_for(team.pod.id).timebox_seconds == 60


def test_history_counts_participation_and_time_to_resolve(team):
    monday = _board(team, date(2026, 3, 9))
    svc.save_entry(team.agent, monday, yesterday="a", today="b", mood=None)
    blocker = svc.raise_blocker(team.agent, monday, description="x", now=datetime(2026, 3, 9, 9))
    svc.resolve_blocker(team.agent, blocker, now=datetime(2026, 3, 10, 21))
    tuesday = _board(team, date(2026, 3, 10))
    for person in (team.agent, team.mate):
        svc.save_entry(person, tuesday, yesterday="a", today="b", mood=None)
    data = svc.history(team.pod, date(2026, 3, 1), date(2026, 3, 31))
    assert set(data.boards) == {date(2026, 3, 9), date(2026, 3, 10)}
    assert data.participation == pytest.approx(3 / 6)
    assert (data.raised, data.resolved, data.median_days_to_resolve) == (1, 1, 1.5)


def test_working_days_between_counts_the_pods_days():
    class FakePod:
        working_days = "12345"
        weekdays = [1, 2, 3, 4, 5]

        def is_working_day(self, day):
            return str(day.isoweekday()) in self.working_days

    pod = FakePod()
    assert svc.working_days_between(pod, date(2026, 3, 6), date(2026, 3, 9)) == 1  # Fri -> Mon
    assert svc.working_days_between(pod, date(2026, 3, 2), date(2026, 3, 16)) == 10
    assert svc.working_days_between(pod, date(2026, 3, 9), date(2026, 3, 9)) == 0


def test_a_closed_board_stays_as_it_was(team):
    board = _board(team)
    blocker = svc.raise_blocker(team.agent, board, description="Waiting on the carrier", now=NOW)
    svc.close_board(team.coach, board, now=NOW + timedelta(minutes=15))
    version = board.version
    svc.resolve_blocker(team.agent, blocker, now=NOW + timedelta(hours=3))  # resolved after the stand-up
    db.session.commit()
    db.session.refresh(board)
    assert board.version == version  # nothing on a frozen board changes, so its viewers have nothing to fetch
    view = svc.board_view(board, NOW + timedelta(days=1))
    assert [(b.status, b.age) for b in view.blockers] == [("open", 0)]


def test_an_entry_is_one_guarded_bump_and_one_upsert_and_a_board_closed_meanwhile_refuses_it(team, count_queries):
    board = _board(team)
    db.session.commit()
    version = board.version  # loaded: the view has the board in hand
    with count_queries() as counter:
        first = svc.save_entry(team.agent, board, yesterday="a", today="b", mood=3, now=NOW)
    writes = [s for s in counter.statements if not s.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 2 and counter.count <= 5, counter.statements  # the bump and the upsert; the rest reads
    again = svc.save_entry(team.agent, board, yesterday="a2", today="b2", mood=None, now=NOW + timedelta(minutes=1))
    db.session.commit()
    assert again.id == first.id and (again.yesterday, again.today, again.mood) == ("a2", "b2", None)
    assert again.created_at == NOW and again.updated_at == NOW + timedelta(minutes=1)
    assert board.version == version + 2
    db.session.execute(  # closed by someone else: this copy of the board still says open
        update(StandupBoard)
        .where(StandupBoard.id == board.id)
        .values(status=BoardStatus.CLOSED.value)
        .execution_options(synchronize_session=False)
    )
    assert not board.is_closed
    with pytest.raises(svc.StandupError):  # the guarded bump itself refuses
        svc.save_entry(team.mate, board, yesterday="late", today="", mood=None, now=NOW)
    assert (
        db.session.scalar(select(func.count()).select_from(StandupEntry).where(StandupEntry.user_id == team.mate.id))
        == 0
    )
