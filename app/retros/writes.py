"""A retro's commonest writes answered on the lean path (app/live.py ``register_write``): a vote, taking one back
and a card that cites nothing; and the live check that goes on to Flask (``register_read``: a new phase).

The app's before_request hooks have run (CSRF, hostile input, rate limits). One statement then reads the signed-in
person (the same session rule as the user loader: active, at the session's version, not signed out), the retro and
whether the person coaches or is a member of its pod today; the permission rules, the form, the service and the
answer are the ones the full path uses (``views.CHANGES``), so a vote is that statement, the service's statements
and the commit. A rule the service refuses (the budget, the cap, a phase the page no longer shows) is answered by
the app's error handlers, as on the full path. Anything else this path does not answer itself (a session
Flask-Login would not accept as it is, an unknown retro, a person who may not take part, an invalid form) is
answered by the full path, which gives the usual status and message.
"""

from __future__ import annotations

import functools

from flask import g, session
from sqlalchemy import bindparam, select

from app import live
from app.auth.services import login_claims, session_user_condition
from app.extensions import db, login_manager
from app.org.models import User
from app.permissions import can, know_pod_relations, pod_relation_columns
from app.retros import services as retros
from app.retros import views
from app.retros.forms import CardForm, VoteForm
from app.retros.models import Retro
from app.timeutil import utcnow


@functools.cache
def _who_and_what():
    """Built once: the person, the retro and the person's relation to its pod, by bind parameters."""
    coaches, member = pod_relation_columns(User.id, Retro.pod_id, bindparam("today"))
    return (
        select(User, Retro, coaches, member)
        .join(Retro, Retro.id == bindparam("retro"))
        .where(session_user_condition(bindparam("user"), bindparam("version"), bindparam("key")))
    )


def _signed_in(retro_id: int, autocommit: bool = False, action: str = views.TAKE_PART) -> tuple[User, Retro] | None:
    """The person and the retro as the full path would load them, or None (also when ``action`` is not theirs).
    ``autocommit``: the request's statements run outside a transaction (see add_card)."""
    if login_manager._session_protection_failed():  # noqa: SLF001 - Flask-Login's own check ("strong" mode)
        return None
    claims = login_claims(session.get("_user_id"))
    if claims is None:
        return None
    user_id, version, key = claims
    values = {"user": user_id, "version": version, "key": key, "retro": retro_id, "today": utcnow().date()}
    if autocommit:  # the session's connection for this request, before anything else uses it
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    row = db.session.execute(_who_and_what(), values).first()
    if row is None:
        return None
    user, retro, coaches, member = row
    user.session_key = key
    g._login_user = user  # what Flask-Login's loader would have given current_user
    know_pod_relations(user, retro.pod_id, coaches=coaches, member=member)
    if not can(user, action, retro):  # take_part implies retros.view
        return None
    return user, retro


def _vote(retro_id: int, service):
    # On PostgreSQL a vote with hidden totals is one statement, all or nothing by itself (services._vote_in_one):
    # the request runs in autocommit, as a card does (see add_card). Other votes and taking one back are several
    # statements: they begin their transaction explicitly once the retro is known (one round trip, as before).
    dialect = db.session.get_bind().dialect.name
    autocommit = dialect == "postgresql" and not db.session().in_transaction()
    found = _signed_in(retro_id, autocommit)
    if found is None:
        return None
    user, retro = found
    form = VoteForm(meta={"csrf": False})  # the app's CSRF check ran before this
    if not form.validate():
        return None
    ref = retros.parse_ref(form.item.data, ("card", "group"))
    if ref is None:
        return None
    alone = service is retros.cast_vote and retros.vote_is_one_statement(retro, dialect)
    if autocommit and not alone:
        db.session.connection().exec_driver_sql("BEGIN")  # committed or rolled back with the session
    state = service(user, retro, **{f"{ref[0]}_id": ref[1]})
    if autocommit and alone:
        live.wrote()  # stored already: whatever happens next, the full path must not vote again
    return views._vote_response(retro, state)  # noqa: SLF001 - the full path's answer


def vote(retro_id: int):
    return _vote(retro_id, retros.cast_vote)


def unvote(retro_id: int):
    return _vote(retro_id, retros.remove_vote)


def add_card(retro_id: int):
    # On PostgreSQL the card's one write is a single statement (the phase-guarded version bump and the insert,
    # services.add_card), atomic by itself: the request runs in autocommit, without the BEGIN and COMMIT round trips
    # around it. Its reads are one statement each: the person and the retro before it; the others' counts after it,
    # which then may include cards written after this one (never fewer than its version holds), and the next poll
    # brings the same counts again.
    # (Not when something before began the session's transaction: its statements stay in it.)
    autocommit = db.session.get_bind().dialect.name == "postgresql" and not db.session().in_transaction()
    found = _signed_in(retro_id, autocommit)
    if found is None:
        return None
    user, retro = found
    form = CardForm(meta={"csrf": False})
    if not form.validate() or form.case_ref.data.strip() or form.metric.data.strip():
        return None  # a card citing a case or a metric shows its chips: the full path loads the pod for them
    card = retros.add_card(user, retro, column_key=form.column.data, text=form.text.data)
    if autocommit:
        live.wrote()  # stored already: whatever happens next, the full path must not write it again
    return views._card_added(retro, card)  # noqa: SLF001



def board(retro_id: int):
    # The live check that goes on to Flask (a new phase: the whole room asks within two seconds; a change the token
    # could not answer): its reads are one statement each, so on PostgreSQL it runs in autocommit, without the BEGIN
    # and ROLLBACK round trips around them.
    autocommit = db.session.get_bind().dialect.name == "postgresql" and not db.session().in_transaction()
    found = _signed_in(retro_id, autocommit, action="retros.view")
    if found is None:
        return None
    return views.board_answer(found[1])
