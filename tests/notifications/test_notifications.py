"""The bell counts unread notifications; people open and read only their own; e-mail waits for SMTP."""

from datetime import datetime

from flask_babel import force_locale, lazy_gettext
from sqlalchemy import select

from app.extensions import db
from app.notifications import services as notes
from app.notifications.models import Notification

NOW = datetime(2026, 11, 24, 8, 0)


def test_bell_counts_unread_and_read_all_clears_it(client, auth, make_user):
    agent = make_user("agent")
    notes.notify([agent, agent], "generic", url="/pods", params={"message": "Blocker escalated"}, now=NOW)
    notes.notify([agent], "generic", url="/", params={"message": "Stand-up starts soon"}, now=NOW)
    db.session.commit()
    auth.login(agent)
    assert 'data-testid="unread-count">2<' in client.get("/").get_data(as_text=True)
    fragment = client.get("/notifications/bell", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<li id="notification-bell"') and ">2<" in fragment
    client.post("/notifications/read-all")
    assert "unread-count" not in client.get("/").get_data(as_text=True)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Blocker escalated" in page and "Stand-up starts soon" in page


def test_opening_marks_read_and_follows_only_local_links(client, auth, make_user):
    agent = make_user("agent")
    local, = notes.notify([agent], "generic", url="/pods", params={"message": "x"}, now=NOW)
    remote, = notes.notify([agent], "generic", url="https://evil.example/", params={"message": "y"}, now=NOW)
    db.session.commit()
    auth.login(agent)
    assert client.get(f"/notifications/{local.id}/open").status_code == 200
    assert local.read_at is None, "GET never changes state"
    response = client.post(f"/notifications/{local.id}/open")
    assert response.headers["Location"] == "/pods"
    assert client.post(f"/notifications/{remote.id}/open").headers["Location"] == "/notifications/"


def test_nobody_opens_someone_elses_notification(client, auth, make_user):
    owner, other = make_user("agent"), make_user("leader")
    note, = notes.notify([owner], "generic", url="/", params={"message": "private"}, now=NOW)
    db.session.commit()
    auth.login(other)
    assert client.get(f"/notifications/{note.id}/open").status_code == 404
    assert client.post(f"/notifications/{note.id}/open").status_code == 404
    assert db.session.get(Notification, note.id).read_at is None


def test_messages_render_in_the_readers_language(make_user):
    notes.register_kind("test_kind", lazy_gettext("Sign in"))
    user = make_user("agent", locale="es")
    note, = notes.notify([user], "test_kind", url="/", now=NOW)
    with force_locale("es"):
        assert notes.render_message(note) == "Iniciar sesión"


def test_email_waits_for_smtp_settings(app, make_user):
    user = make_user("agent")
    notes.notify([user], "generic", url="/", params={"message": "x"}, now=NOW)
    app.config["MAIL_SERVER"] = "127.0.0.1"
    try:
        note, = notes.notify([user], "generic", url="/", params={"message": "y"}, now=NOW)
    finally:
        app.config["MAIL_SERVER"] = ""
    states = sorted(db.session.scalars(select(Notification.email_state)))
    assert states == ["none", "pending"]
    assert notes.send_pending_emails(NOW) == 0
    assert note.email_state == "none", "without SMTP settings nothing stays queued"


def test_inactive_people_are_not_notified(make_user):
    user = make_user("agent")
    user.active = False
    assert notes.notify([user], "generic", url="/", params={"message": "x"}, now=NOW) == []


class FakeSMTP:
    """Stands in for smtplib.SMTP: records what would have been sent."""

    sent: list = []

    def __init__(self, host, port, timeout=None):
        self.host = host

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, message):
        FakeSMTP.sent.append(message)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_email_job_sends_waiting_notifications_with_absolute_links(app, make_user, monkeypatch):
    from app.scheduler.runner import run_job

    FakeSMTP.sent = []
    monkeypatch.setattr(notes.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.com")
    monkeypatch.setitem(app.config, "BASE_URL", "https://podium.example.com")
    monkeypatch.setitem(app.config, "SERVER_NAME", None)  # the tests pin it; production links follow BASE_URL
    user = make_user("agent", locale="es")
    notes.register_kind("test_kind", lazy_gettext("Sign in"))
    note, = notes.notify([user], "test_kind", url="/", now=NOW)
    db.session.commit()

    assert run_job(app, "send_emails", NOW, now=NOW) == "finished"
    message, = FakeSMTP.sent
    assert message["To"] == user.email
    assert "Iniciar sesión" in message["Subject"], "e-mails are written in the reader's language"
    assert f"https://podium.example.com/notifications/{note.id}/open" in message.get_content()
    assert db.session.get(Notification, note.id).email_state == "sent"
    assert run_job(app, "send_emails", NOW, now=NOW) == "skipped", "one run per slot"


def _smtp_settings(app, monkeypatch):
    FakeSMTP.sent = []
    monkeypatch.setattr(notes.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.com")
    monkeypatch.setitem(app.config, "BASE_URL", "https://podium.example.com")
    monkeypatch.setitem(app.config, "SERVER_NAME", None)


def test_a_multi_line_message_is_sent_with_a_one_line_subject(app, make_user, monkeypatch):
    from app.scheduler.runner import run_job

    _smtp_settings(app, monkeypatch)
    user = make_user("agent")
    note, = notes.notify([user], "generic", url="/", params={"message": "Billing down\r\nBcc: all@example.com\nhelp"},
                         now=NOW)
    db.session.commit()

    assert run_job(app, "send_emails", NOW, now=NOW) == "finished"
    message, = FakeSMTP.sent
    assert message["Subject"] == "Podium: Billing down Bcc: all@example.com help"
    assert message["Bcc"] is None, "a line break in a message never becomes a header"
    assert "Billing down" in message.get_content()
    assert db.session.get(Notification, note.id).email_state == "sent"


class FlakySMTP(FakeSMTP):
    """Refuses every message to one address, sends the others."""

    refused = ""

    def send_message(self, message):
        if message["To"] == FlakySMTP.refused:
            raise notes.smtplib.SMTPRecipientsRefused({message["To"]: (550, b"mailbox unavailable")})
        FakeSMTP.sent.append(message)


def test_a_message_that_fails_is_retried_a_few_times_then_marked_failed_without_blocking_others(
        app, make_user, monkeypatch):
    from datetime import timedelta

    from app.scheduler.runner import run_job

    _smtp_settings(app, monkeypatch)
    monkeypatch.setattr(notes.smtplib, "SMTP", FlakySMTP)
    broken, fine = make_user("agent"), make_user("agent")
    FlakySMTP.refused = broken.email
    bad, = notes.notify([broken], "generic", url="/", params={"message": "first"}, now=NOW)
    db.session.commit()

    for minute in range(notes.MAX_EMAIL_ATTEMPTS + 2):
        notes.notify([fine], "generic", url="/", params={"message": f"later {minute}"}, now=NOW)
        db.session.commit()
        assert run_job(app, "send_emails", NOW + timedelta(minutes=minute), now=NOW) == "finished"
        db.session.expire_all()
        if minute < notes.MAX_EMAIL_ATTEMPTS - 1:
            assert db.session.get(Notification, bad.id).email_state == "pending", "tried again next time"

    failed = db.session.get(Notification, bad.id)
    assert failed.email_state == "failed"
    assert failed.email_attempts == notes.MAX_EMAIL_ATTEMPTS, "no more tries after the limit"
    assert "SMTPRecipientsRefused" in failed.email_error and "mailbox unavailable" in failed.email_error
    assert sorted(m.get_content().split("\n")[0] for m in FakeSMTP.sent) == sorted(
        f"later {n}" for n in range(notes.MAX_EMAIL_ATTEMPTS + 2)), "everyone else's e-mail went out every run"
    states = set(db.session.scalars(select(Notification.email_state).where(Notification.user_id == fine.id)))
    assert states == {"sent"}


def test_an_email_that_cannot_even_be_built_does_not_stop_the_batch(app, make_user, monkeypatch):
    _smtp_settings(app, monkeypatch)
    broken, fine = make_user("agent"), make_user("agent")
    first, = notes.notify([broken], "generic", url="/", params={"message": "x"}, now=NOW)
    second, = notes.notify([fine], "generic", url="/", params={"message": "y"}, now=NOW)
    db.session.commit()
    real = notes._email

    def explode(notification, sender):
        if notification.id == first.id:
            raise ValueError("cannot encode")
        return real(notification, sender)

    monkeypatch.setattr(notes, "_email", explode)
    with app.test_request_context("/"):
        assert notes.send_pending_emails(NOW) == 1
    assert (first.email_state, first.email_attempts, first.email_error) == ("pending", 1, "ValueError: cannot encode")
    assert second.email_state == "sent"
