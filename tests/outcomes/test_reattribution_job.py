"""Re-attribution as a durable job: queued by the mappings page, run by the worker, started again by another
worker when its own died, cancellable, and the rollups follow the cases it moved."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.outcomes import attribution, import_jobs, metrics
from app.outcomes.models import Case, Import, ImportStatus
from tests.outcomes.test_import_jobs import count, job, make_stale
from tests.outcomes.test_mapping import attribution_of, import_three_cases


class Crash(BaseException):
    """The worker process dying in the middle of the job."""


@pytest.fixture
def imported(tmp_path, make_user):
    """Three imported cases no mapping attributes yet, and a leader."""
    leader = make_user("leader")
    import_three_cases(tmp_path)
    return leader


@pytest.fixture
def queued_mode(app):
    app.config["IMPORTS_INLINE"] = False
    yield
    app.config.pop("IMPORTS_INLINE")


def test_the_mappings_page_queues_a_job_that_the_worker_runs(client, auth, imported, make_pod, queued_mode):
    care = make_pod("Care")
    attribution.save_mapping(None, "pod", "Soporte", target_id=care.id)
    db.session.commit()
    auth.login(imported)
    response = client.post("/imports/mappings/reattribute", follow_redirects=True)
    assert response.status_code == 200 and "Re-attribution started" in response.get_data(as_text=True)
    queued = db.session.scalar(select(Import).where(Import.source == import_jobs.REATTRIBUTE))
    assert queued.status == ImportStatus.QUEUED.value and queued.rows_total == 3
    assert attribution_of("1")[0] is None  # nothing changes in the request
    client.post("/imports/mappings/reattribute")  # asked again while queued: the same job serves
    assert count(Import) == 2  # the file import and one re-attribution

    assert import_jobs.run_pending_imports() == 1
    done = job(queued.id)
    assert (done.status, done.rows_processed, done.rows_updated, done.rows_unchanged) == (
        ImportStatus.DONE.value, 3, 2, 1)
    assert attribution_of("1")[0] == care.id and attribution_of("2")[0] == care.id
    page = client.get("/imports").get_data(as_text=True)
    assert "Re-attribution" in page


def test_a_reattribution_whose_worker_died_is_started_again_by_another(imported, make_pod, monkeypatch,
                                                                        queued_mode):
    care = make_pod("Care")
    attribution.save_mapping(None, "pod", "Soporte", target_id=care.id)
    db.session.commit()
    queued = import_jobs.enqueue_reattribution(None)
    monkeypatch.setattr(attribution, "REATTRIBUTE_BATCH", 1)
    original = attribution.reattribute_cases

    def dies_after_two_batches(actor, *, days=None, after_batch=None):
        def crash_later(examined: int, changed: int) -> None:
            after_batch(examined, changed)
            if examined >= 2:
                raise Crash

        return original(actor, days=days, after_batch=crash_later)

    monkeypatch.setattr(attribution, "reattribute_cases", dies_after_two_batches)
    assert import_jobs.claim_next("dies") == queued.id
    with pytest.raises(Crash):
        import_jobs.run_claimed(queued.id, "dies")
    db.session.rollback()
    left = job(queued.id)
    assert (left.status, left.rows_processed) == (ImportStatus.RUNNING.value, 2)
    assert attribution_of("1")[0] == care.id and attribution_of("2")[0] == care.id  # committed batches stay
    assert import_jobs.run_pending_imports() == 0  # its heartbeat is fresh

    monkeypatch.setattr(attribution, "reattribute_cases", original)
    make_stale(queued.id)
    assert import_jobs.run_pending_imports() == 1
    done = job(queued.id)
    assert (done.status, done.attempts, done.rows_processed) == (ImportStatus.DONE.value, 2, 3)
    # The second attempt found the first one's cases already moved; the rollups were rebuilt all the same.
    db.session.rollback()
    days = sorted(moment.date() for moment in db.session.scalars(select(Case.created_at)))
    figures = metrics.compute(days[0], days[-1], metrics.Scope(pod_id=care.id))
    assert figures["volume"].value == 2


def test_cancelling_a_reattribution_stops_it(imported, make_pod, make_user, queued_mode):
    queued = import_jobs.enqueue_reattribution(None)
    assert import_jobs.cancel(queued.id, make_user("leader", email="other@example.test"))
    assert import_jobs.run_pending_imports() == 0
    assert job(queued.id).status == ImportStatus.CANCELLED.value


def test_a_reattribution_that_cannot_go_on_is_marked_failed(imported, queued_mode, monkeypatch):
    queued = import_jobs.enqueue_reattribution(None)
    assert import_jobs.claim_next("dies") == queued.id
    db.session.execute(Import.__table__.update().where(Import.id == queued.id)
                       .values(attempts=import_jobs.MAX_ATTEMPTS))
    db.session.commit()
    make_stale(queued.id)
    assert import_jobs.run_pending_imports() == 0
    assert job(queued.id).status == ImportStatus.FAILED.value
