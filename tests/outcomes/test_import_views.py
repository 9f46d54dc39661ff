"""The import pages: who may use them, upload → progress → result, the error report, refused files."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.outcomes import ingest
from app.outcomes.models import Case, Import, ImportRowError, ImportStatus
from tests.outcomes.test_import_formats import ZENDESK_HEADER, zendesk_row


def zendesk_bytes(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ZENDESK_HEADER)
    for row in rows:
        writer.writerow([row.get(name, "") for name in ZENDESK_HEADER])
    return buffer.getvalue().encode()


@pytest.fixture
def people(make_user):
    return {role: make_user(role) for role in ("agent", "coach", "leader", "admin")}


def upload(client, content: bytes, filename: str = "tickets.csv", **fields):
    data = {"format": "zendesk", "timezone": "Europe/Madrid", **fields,
            "file": (io.BytesIO(content), filename)}
    return client.post("/imports", data=data, content_type="multipart/form-data")


def finished_import(tmp_path, rows) -> Import:
    path = tmp_path / "t.csv"
    path.write_bytes(zendesk_bytes(rows))
    return ingest.import_file(path, fmt="zendesk", timezone="UTC")


@pytest.mark.parametrize("role", ["anonymous", "agent", "coach", "leader", "admin"])
def test_only_leaders_and_admins_use_the_import_pages(client, auth, people, tmp_path, role):
    done = finished_import(tmp_path, [zendesk_row(Id="1"), zendesk_row(Id="2", Status="Lost")])
    if role != "anonymous":
        auth.login(people[role])
    allowed = role in ("leader", "admin")
    for method, path, data in [
        ("GET", "/imports", None),
        ("GET", f"/imports/{done.id}", None),
        ("GET", f"/imports/{done.id}/errors.csv", None),
        ("GET", "/imports/mappings", None),
        ("POST", "/imports/mappings", {"kind": "request_type", "source_value": "Queja", "target": "complaint"}),
        ("POST", "/imports/mappings/reattribute", {}),
    ]:
        response = client.open(path, method=method, data=data)
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], path
        elif allowed:
            assert response.status_code in (200, 303), (path, response.status_code)
        else:
            assert response.status_code == 403, path
    response = upload(client, zendesk_bytes([zendesk_row(Id="9")]))
    if role == "anonymous":
        assert response.status_code == 302
    else:
        assert response.status_code == (303 if allowed else 403)
    expected = 2 if allowed else 1
    assert db.session.scalar(select(func.count()).select_from(Case)) == expected


def test_nav_link_shows_for_leaders_only(client, auth, people):
    auth.login(people["coach"])
    assert 'href="/imports"' not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(people["leader"])
    assert 'href="/imports"' in client.get("/").get_data(as_text=True)


def test_upload_imports_and_shows_the_result_with_row_errors(client, auth, people):
    auth.login(people["leader"])
    page = client.get("/imports").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'value="Europe/Madrid"' in page
    content = zendesk_bytes([zendesk_row(Id="1"), zendesk_row(Id="2", **{"Created at": "yesterday"}),
                             zendesk_row(Id="3")])
    response = upload(client, content, filename="september.csv")
    assert response.status_code == 303
    import_ = db.session.scalar(select(Import))
    assert response.headers["Location"].endswith(f"/imports/{import_.id}")
    assert (import_.status, import_.rows_created, import_.rows_failed) == (ImportStatus.DONE.value, 2, 1)
    assert import_.filename == "september.csv" and import_.started_by_id == people["leader"].id
    page = client.get(f"/imports/{import_.id}").get_data(as_text=True)
    assert "september.csv" in page and 'id="import-errors"' in page and "yesterday" in page
    assert "every 1s" not in page  # finished: no more polling
    assert f"/imports/{import_.id}/errors.csv" in page
    history = client.get("/imports").get_data(as_text=True)
    assert f'id="import-{import_.id}"' in history


def test_a_running_import_is_polled_with_htmx(client, auth, people):
    auth.login(people["admin"])
    import_ = Import(source="zendesk", filename="big.csv", timezone="UTC", status=ImportStatus.RUNNING.value,
                     rows_total=1000, rows_processed=400, rows_created=400)
    db.session.add(import_)
    db.session.commit()
    page = client.get(f"/imports/{import_.id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and '<progress id="import-progress" value="400" max="1000"' in page
    fragment = client.get(f"/imports/{import_.id}", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    assert body.lstrip().startswith('<section id="import-status"') and "<html" not in body
    db.session.execute(Import.__table__.update().values(status="done", rows_processed=1000, rows_created=1000))
    db.session.commit()
    body = client.get(f"/imports/{import_.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in body and "1,000" in body


def test_error_report_downloads_as_csv_with_lines_and_reasons(client, auth, people, tmp_path):
    done = finished_import(tmp_path, [zendesk_row(Id="1", Status="Lost"), zendesk_row(Id="2"),
                                      zendesk_row(Id="3", Replies="x")])
    auth.login(people["leader"])
    response = client.get(f"/imports/{done.id}/errors.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["Line", "Case id", "Reason"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("2", "1"), ("4", "3")]
    assert "Lost" in rows[1][2]


@pytest.mark.parametrize("content, filename, expected", [
    (b"Name,Email\nAna,ana@example.com\n", "people.csv", "not a Zendesk export"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "picture.csv", "binary"),
    (",".join(ZENDESK_HEADER).encode("utf-16"), "u16.csv", "UTF-16"),
    (zendesk_bytes([zendesk_row()]).decode().encode("latin-1"), "latin.csv", "not UTF-8"),
])
def test_unsupported_files_are_refused_with_nothing_imported(client, auth, people, content, filename, expected):
    auth.login(people["leader"])
    response = upload(client, content, filename=filename)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="import-refused"' in page and expected in page
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    assert db.session.scalar(select(func.count()).select_from(Import)) == 0


def test_bad_form_input_is_a_400(client, auth, people):
    auth.login(people["leader"])
    assert client.post("/imports", data={"format": "zendesk", "timezone": "UTC"},
                       content_type="multipart/form-data").status_code == 400
    assert upload(client, zendesk_bytes([zendesk_row()]), timezone="Mars/Olympus").status_code == 400
    assert upload(client, zendesk_bytes([zendesk_row()]), format="excel").status_code == 400
    assert client.get("/imports/999999").status_code == 404
    assert client.get("/imports/999999/errors.csv").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Import)) == 0


def test_uploaded_file_is_removed_after_the_import(client, auth, people, app, tmp_path):
    app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    try:
        auth.login(people["leader"])
        assert upload(client, zendesk_bytes([zendesk_row()])).status_code == 303
        assert upload(client, b"Name\nAna\n").status_code == 400
        assert list((tmp_path / "uploads").iterdir()) == []
    finally:
        app.config.pop("IMPORT_UPLOAD_DIR")


def test_import_pages_have_bounded_query_counts(client, auth, people, tmp_path, count_queries):
    small = finished_import(tmp_path, [zendesk_row(Id="1", Status="Lost")])
    big = finished_import(tmp_path, [zendesk_row(Id=str(n), Status="Lost") for n in range(2, 80)])
    for n in range(5):
        finished_import(tmp_path, [zendesk_row(Id=f"x{n}")])
    auth.login(people["leader"])
    counts = []
    for path in ("/imports", f"/imports/{small.id}", f"/imports/{big.id}"):
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        counts.append(counter.count)
    assert counts[1] == counts[2] and max(counts) <= 12
    assert db.session.scalar(select(func.count()).select_from(ImportRowError)) == 79
