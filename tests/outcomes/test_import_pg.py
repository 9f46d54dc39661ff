"""PostgreSQL's side of big imports: the cases' foreign keys dropped for the rows and checked again at the end."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text

from app.extensions import db
from app.org.models import Segment
from app.outcomes import attribution, import_jobs, ingest, pg_load
from app.outcomes.models import Case, ImportStatus
from tests.outcomes.test_import_formats import zendesk_file, zendesk_row

FOREIGN_KEYS = {key.name for key in Case.__table__.foreign_key_constraints}


@pytest.fixture(autouse=True)
def postgres_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")


@pytest.fixture
def big(monkeypatch):
    monkeypatch.setattr(ingest, "BIG_IMPORT_ROWS", 100)
    monkeypatch.setattr(ingest, "BATCH_SIZE", 50)


def foreign_keys() -> dict[str, bool]:
    """The cases' foreign keys there now, and whether each is checked for every row (validated)."""
    db.session.rollback()
    found = dict(db.session.execute(text("SELECT conname, convalidated FROM pg_constraint "
                                         "WHERE conrelid = 'cases'::regclass AND contype = 'f'")).all())
    db.session.rollback()
    return found


def import_rows(tmp_path, count: int, name: str = "tickets.csv", **values):
    path = zendesk_file(tmp_path, [zendesk_row(Id=str(n), **values) for n in range(1, count + 1)], name)
    return ingest.import_file(path, fmt="zendesk", timezone="UTC")


def test_a_big_import_drops_the_foreign_keys_and_adds_them_back_checked(tmp_path, big, monkeypatch, make_segment,
                                                                        make_user):
    leader = make_user("leader")
    residential = make_segment("Residential")
    attribution.save_mapping(leader, "segment", "Residencial", target_id=residential.id)
    db.session.commit()
    dropped = []
    drop = pg_load.drop_foreign_keys
    monkeypatch.setattr(pg_load, "drop_foreign_keys", lambda connection: dropped.append(1) or drop(connection))
    done = import_rows(tmp_path, 300)
    assert (done.status, done.rows_created, dropped) == (ImportStatus.DONE.value, 300, [1])
    assert foreign_keys() == dict.fromkeys(FOREIGN_KEYS, True)
    assert db.session.scalar(select(func.count()).where(Case.segment_id == residential.id)) == 300


def test_a_row_deleted_while_the_keys_were_dropped_leaves_its_cases_without_it(tmp_path, big, make_segment,
                                                                              make_user):
    leader = make_user("leader")
    residential, other = make_segment("Residential"), make_segment("Other")
    attribution.save_mapping(leader, "segment", "Residencial", target_id=residential.id)
    attribution.save_mapping(leader, "segment", "Pymes", target_id=other.id)
    db.session.commit()
    import_rows(tmp_path, 150)
    import_rows(tmp_path, 150, "again.csv", **{"Segment [list]": "Pymes"})  # the same ids: now in the other segment
    assert ingest.drop_case_indexes(150) is True  # a file as long as the table; its worker then dies
    assert foreign_keys() == {}
    db.session.execute(delete(Segment).where(Segment.id == other.id))  # nothing sets its cases' segment to NULL
    db.session.commit()

    assert import_jobs.restore_case_indexes() > 0  # the worker's next round
    assert foreign_keys() == dict.fromkeys(FOREIGN_KEYS, True)
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.segment_id.is_(None))) == 150


def test_a_key_added_back_but_not_checked_yet_is_checked_by_the_worker():
    db.session.execute(text("ALTER TABLE cases DROP CONSTRAINT fk_cases_pod_id_pods"))
    db.session.execute(text("ALTER TABLE cases ADD CONSTRAINT fk_cases_pod_id_pods FOREIGN KEY (pod_id) "
                            "REFERENCES pods (id) ON DELETE SET NULL NOT VALID"))  # its worker died here
    db.session.commit()
    assert foreign_keys()["fk_cases_pod_id_pods"] is False
    assert import_jobs.restore_case_indexes() == 1
    assert foreign_keys() == dict.fromkeys(FOREIGN_KEYS, True)
