"""Stand-up jobs with a fixed `now`: escalation across time zones and a DST change, reminders once per board."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification
from app.org.models import Pod
from app.scheduler.jobs import JOBS
from app.scheduler.runner import run_job
from app.standups import services as svc
from app.standups.models import Blocker, StandupBoard


def _blocker_on(pod, day: date, raised_at: datetime, raiser) -> Blocker:
    board = svc.ensure_board(pod, day, now=raised_at)
    blocker = svc.raise_blocker(raiser, board, description=f"Blocked in {pod.name}", now=raised_at)
    db.session.commit()
    return blocker


def _status(blocker_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Blocker, blocker_id).status


def test_jobs_are_registered():
    assert {"standup_boards", "standup_reminders", "standup_blocker_escalation"} <= set(JOBS)


def test_escalation_counts_working_days_in_the_pods_zone_across_dst(team, make_pod, make_user):
    # Madrid moves to summer time on Sunday 29 March 2026. A blocker raised on Wednesday 25 March is open
    # for more than 3 working days from Tuesday 31 March (Thu, Fri, Mon, Tue), Madrid time.
    madrid = _blocker_on(team.pod, date(2026, 3, 25), datetime(2026, 3, 25, 9), team.agent)
    assert svc.escalate_stale_blockers(datetime(2026, 3, 30, 21, 59)) == 0  # 23:59 Monday in Madrid (CEST)
    assert _status(madrid.id) == "open"
    # 22:30 UTC is 00:30 on Tuesday in summer time (it would still be Monday 23:30 in winter time).
    assert svc.escalate_stale_blockers(datetime(2026, 3, 30, 22, 30)) == 1
    assert _status(madrid.id) == "escalated"
    db.session.commit()
    assert {n.user_id for n in db.session.scalars(select(Notification))} == {team.coach.id, team.leader.id}


def test_same_instant_different_zones(team, make_pod, make_user):
    ny_agent = make_user("agent", name="Nia York")
    ny = make_pod("New York pod", timezone="America/New_York", members=[ny_agent])
    madrid = _blocker_on(team.pod, date(2026, 3, 25), datetime(2026, 3, 25, 9), team.agent)
    new_york = _blocker_on(ny, date(2026, 3, 25), datetime(2026, 3, 25, 14), ny_agent)
    # 02:00 UTC on 31 March: 04:00 Tuesday in Madrid, 22:00 Monday in New York (EDT).
    assert svc.escalate_stale_blockers(datetime(2026, 3, 31, 2, 0)) == 1
    assert (_status(madrid.id), _status(new_york.id)) == ("escalated", "open")
    # A pod setting of 5 working days keeps a newer blocker open a little longer.
    svc.save_settings(team.coach, team.pod, escalate_after_days=5, timebox_seconds=90)
    later = _blocker_on(team.pod, date(2026, 3, 31), datetime(2026, 3, 31, 9), team.agent)
    assert svc.escalate_stale_blockers(datetime(2026, 4, 7, 8, 0)) == 1  # only New York's now
    assert _status(later.id) == "open"
    assert svc.escalate_stale_blockers(datetime(2026, 4, 8, 8, 0)) == 1  # 6 working days in Madrid
    assert _status(later.id) == "escalated"


def test_escalation_job_runs_through_the_scheduler(app, team):
    blocker = _blocker_on(team.pod, date(2026, 3, 2), datetime(2026, 3, 2, 9), team.agent)
    now = datetime(2026, 3, 11, 8, 0)
    assert run_job(app, "standup_blocker_escalation", now, now=now) == "finished"
    assert run_job(app, "standup_blocker_escalation", now, now=now) == "skipped"
    assert _status(blocker.id) == "escalated"


def test_reminders_go_to_members_without_an_entry_once_per_board(team):
    board = svc.ensure_board(team.pod, date(2026, 3, 11), now=datetime(2026, 3, 11, 7))
    svc.save_entry(team.agent, board, yesterday="done", today="more", mood=None)
    db.session.commit()
    assert svc.remind_missing(datetime(2026, 3, 11, 8, 10)) == 0  # 09:10 Madrid: too early
    assert svc.remind_missing(datetime(2026, 3, 11, 8, 20)) == 3  # 09:20 Madrid: two in the home pod, one in the other
    assert svc.remind_missing(datetime(2026, 3, 11, 8, 25)) == 0  # once per board
    db.session.commit()
    reminded = {n.user_id for n in db.session.scalars(select(Notification).where(Notification.kind == "standup_reminder"))}
    assert reminded == {team.mate.id, team.third.id, team.other_agent.id}


def test_board_job_through_the_scheduler(app, team, make_pod):
    make_pod("Late pod", standup_time=time(15, 0))
    now = datetime(2026, 3, 11, 8, 5)  # 09:05 Madrid: within 30 minutes of the 09:30 stand-ups only
    assert run_job(app, "standup_boards", now, now=now) == "finished"
    db.session.expire_all()
    names = set(db.session.scalars(select(Pod.name).join(StandupBoard, StandupBoard.pod_id == Pod.id)))
    assert names == {"Home pod", "Other pod"}


def test_board_job_reads_the_standup_time_in_local_time_across_dst(team):
    # Monday 30 March 2026, the day after Madrid moved to summer time (UTC+2): 07:05 UTC is 09:05 local,
    # inside the 30 minutes before the 09:30 stand-up; the Friday before, 07:05 UTC was only 08:05.
    assert svc.create_due_boards(datetime(2026, 3, 27, 7, 5)) == 0
    assert svc.create_due_boards(datetime(2026, 3, 30, 7, 5)) == 2
    days = set(db.session.scalars(select(StandupBoard.day)))
    assert days == {date(2026, 3, 30)}


def test_reminders_are_also_emailed_when_smtp_is_set(app, team, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.test")
    svc.ensure_board(team.pod, date(2026, 3, 11), now=datetime(2026, 3, 11, 7))
    assert svc.remind_missing(datetime(2026, 3, 11, 8, 20)) == 4
    states = set(db.session.scalars(select(Notification.email_state)))
    assert states == {"pending"}  # the send_emails job mails them in each reader's language


def test_an_escalated_multi_line_blocker_is_emailed_with_a_one_line_subject(app, team, monkeypatch):
    """Issue 13 #3: a line break in a blocker made the mail job fail on the Subject header every minute."""
    from app.notifications import services as notes

    sent = []

    class FakeSMTP:
        def __init__(self, *args, **kwargs):
            pass

        def starttls(self):
            pass

        def login(self, user, password):
            pass

        def send_message(self, message):
            sent.append(message)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(notes.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.test")
    board = svc.ensure_board(team.pod, date(2026, 3, 2), now=datetime(2026, 3, 2, 9))
    svc.raise_blocker(team.agent, board, description="Billing tool down\r\nSince 9:00\nCase Z-1",
                      now=datetime(2026, 3, 2, 9))
    db.session.commit()
    now = datetime(2026, 3, 11, 8, 0)
    assert run_job(app, "standup_blocker_escalation", now, now=now) == "finished"
    assert run_job(app, "send_emails", now, now=now) == "finished"
    subjects = {message["Subject"] for message in sent}
    assert subjects == {"Podium: Blocker escalated in Home pod: Billing tool down Since 9:00 Case Z-1"}
    assert len(sent) == 2  # the pod's coach and the leader
    assert set(db.session.scalars(select(Notification.email_state))) == {"sent"}
