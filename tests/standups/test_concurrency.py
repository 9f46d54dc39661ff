"""The job and a visitor creating the same board at the same moment still make one board (threads)."""

from __future__ import annotations

import threading
from datetime import date, datetime

from sqlalchemy import func, select

from app.extensions import db
from app.org.models import Pod, User
from app.standups import services as svc
from app.standups.models import StandupBoard, StandupEntry


def _race(app, *calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = []

    def run(call) -> None:
        with app.app_context(), app.test_request_context("/"):
            try:
                barrier.wait(10)
                results.append(call())
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion
                db.session.rollback()
                results.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_job_and_visitor_race_for_the_board(app, team):
    pod_id = team.pod.id
    for day in (9, 10, 11):
        now = datetime(2026, 3, day, 8, 10)

        def job(now=now):
            svc.create_due_boards(now)
            return "job"

        def visit(now=now):
            return svc.board_for_today(db.session.get(Pod, pod_id), now).id

        results = _race(app, job, visit, visit)
        assert all(isinstance(r, int) or r == "job" for r in results), results
        db.session.expire_all()
        ids = set(db.session.scalars(select(StandupBoard.id).where(StandupBoard.pod_id == pod_id,
                                                                   StandupBoard.day == date(2026, 3, day))))
        assert len(ids) == 1
        assert {r for r in results if isinstance(r, int)} == ids


def test_one_person_posting_twice_at_once_keeps_one_entry(app, team):
    board = svc.ensure_board(team.pod, date(2026, 3, 11), now=datetime(2026, 3, 11, 8))
    db.session.commit()
    board_id, agent_id = board.id, team.agent.id

    def post(text):
        def _call():
            entry = svc.save_entry(db.session.get(User, agent_id), db.session.get(StandupBoard, board_id),
                                   yesterday=text, today="", mood=None)
            return entry.id
        return _call

    results = _race(app, post("one"), post("two"))
    assert all(isinstance(r, int) for r in results), results
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(StandupEntry)) == 1
