"""The demo is written in the language of each author: a Spanish or Italian page carries no English demo sentence.

Madrid pods' people write Spanish, Rome pods' people Italian, the English speakers English; a Spanish coach's
stand-up board, retro board, pod page and quarterly reviews show no sentence of the English demo content.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
from flask_babel import refresh
from sqlalchemy import select

from app.autonomy import demo as autonomy_demo
from app.autonomy.models import Decision, LimitVersion, Proposal
from app.demo.language import texts_in
from app.demo.org_data import COACH_EMAIL, PODS
from app.extensions import db
from app.org.models import Pod, User
from app.recognition import demo as recognition_demo
from app.recognition.models import Recognition
from app.retros import demo as retros_demo
from app.retros.models import Retro, RetroAction, RetroCard, RetroGroup, RetroNote
from app.reviews import demo as reviews_demo
from app.reviews.models import NarrativeEdit, Objective, Review
from app.standups import demo as standups_demo
from app.standups.models import Blocker, StandupBoard, StandupEntry
from tests.demo_snapshot import load_demo_snapshot

NOW = datetime(2026, 11, 25, 9, 30)  # a Wednesday: every pod has today's stand-up board open
ITALIAN_COACH = "Giulia Russo"  # coaches "SMB Growth", a Rome pod
ENGLISH_COACH = "Emma Clarke"  # coaches "Enterprise Accounts" with Italian and English members
PLACEHOLDER = re.compile(r"%\([a-z]+\)[sd]")

STANDUP_TEXTS = (standups_demo.YESTERDAY, standups_demo.TODAY, standups_demo.BLOCKERS)
RETRO_TEXTS = (retros_demo.RETROS, retros_demo.IN_PROGRESS, retros_demo.NOTES, retros_demo.POD_TEMPLATE)
REVIEW_TEXTS = tuple(value for name, value in vars(reviews_demo).items()
                     if name.isupper() and name not in ("ROSE_BY",))
AUTONOMY_TEXTS = (autonomy_demo.RATIONALES, autonomy_demo.LIMIT_REASONS, autonomy_demo.PROPOSAL_REASONS,
                  autonomy_demo.ACCEPTED_COMMENT, autonomy_demo.REJECTIONS, autonomy_demo.APPROVED)
RECOGNITION_TEXTS = (recognition_demo.CASE_MESSAGES, recognition_demo.METRIC_MESSAGE, recognition_demo.ACTION_MESSAGE)
ALL_TEXTS = STANDUP_TEXTS + RETRO_TEXTS + REVIEW_TEXTS + AUTONOMY_TEXTS + RECOGNITION_TEXTS


def _fragments(locale: str) -> set[str]:
    """The pieces of every demo text in `locale` between placeholders, long enough to be a sentence's own."""
    others = {text for other in ("es", "it", "en") if other != locale for text in texts_in(other, *ALL_TEXTS)}
    pieces = set()
    for text in texts_in(locale, *ALL_TEXTS):
        pieces.update(p.strip(" .,:;«»“”") for p in PLACEHOLDER.split(text))
    return {p for p in pieces if len(p) >= 12 and not any(p in other for other in others)}


ENGLISH = _fragments("en")


def _english_in(text: str) -> list[str]:
    return sorted(fragment for fragment in ENGLISH if fragment in text)


@pytest.fixture
def demo():
    assert load_demo_snapshot(now=NOW) is True


def _written_by(user_locale: dict[int, str], rows) -> list[tuple[str, str]]:
    """(author's locale, text) of every row written by someone who speaks Spanish or Italian."""
    return [(user_locale[author], text) for author, text in rows if author in user_locale and text]


def test_spanish_and_italian_authors_write_in_their_language(demo):
    user_locale = {uid: locale for uid, locale in db.session.execute(select(User.id, User.locale))
                   if locale in ("es", "it")}
    exact = {locale: texts_in(locale, *ALL_TEXTS) for locale in ("es", "it")}
    written = {
        "retro cards": _written_by(user_locale, db.session.execute(select(RetroCard.author_id, RetroCard.text))),
        "retro notes": _written_by(user_locale, db.session.execute(select(RetroNote.author_id, RetroNote.text))),
        "retro actions": _written_by(user_locale, db.session.execute(
            select(RetroAction.created_by_id, RetroAction.title))),
        "retro titles": _written_by(user_locale, db.session.execute(select(Retro.created_by_id, Retro.title))),
        "blockers": _written_by(user_locale, db.session.execute(select(Blocker.raised_by_id, Blocker.description))),
        "stand-up plans": _written_by(user_locale, db.session.execute(
            select(StandupEntry.user_id, StandupEntry.today))),
        "review objectives": _written_by(user_locale, db.session.execute(
            select(Review.opened_by_id, Objective.title).join(Review, Review.id == Objective.review_id))),
        "autonomy rationales": _written_by(user_locale, db.session.execute(
            select(Decision.agent_id, Decision.rationale))),
        "autonomy comments": _written_by(user_locale, db.session.execute(
            select(Decision.decided_by_id, Decision.comment).where(Decision.decided_by_id.is_not(None)))),
        "limit proposals": _written_by(user_locale, db.session.execute(
            select(Proposal.proposed_by_id, Proposal.reason).where(Proposal.proposed_by_id.is_not(None)))),
        "recognitions": _written_by(user_locale, db.session.execute(
            select(Recognition.giver_id, Recognition.message))),
    }
    for kind, rows in written.items():
        assert rows, kind
        wrong = [(locale, text) for locale, text in rows if text not in exact[locale]]
        assert wrong == [], kind
    free_text = {
        "stand-up updates": _written_by(user_locale, db.session.execute(
            select(StandupEntry.user_id, StandupEntry.yesterday))),
        "review narratives": _written_by(user_locale, db.session.execute(
            select(NarrativeEdit.author_id, NarrativeEdit.text))),
        # an accepted proposal's limit reads "<the coach's reason> — <the leader's comment>"
        "limit reasons": _written_by(user_locale, db.session.execute(
            select(LimitVersion.created_by_id, LimitVersion.reason))),
    }
    for kind, rows in free_text.items():
        assert rows, kind
        assert [text for _locale, text in rows if _english_in(text)] == [], kind
    # Group themes are named by whoever groups: every Madrid or Rome pod's themes are in its people's language.
    themes = set(db.session.scalars(select(RetroGroup.title)))
    assert themes & exact["es"] and themes & exact["it"]

    # Request types and channels appear by their labels in the author's language, never by their codes.
    updates = " ".join(text for _locale, text in free_text["stand-up updates"])
    assert "«Reclamación»" in updates or "«Queja»" in updates
    assert "«Contestazione»" in updates or "«Reclamo»" in updates
    assert not re.search(r"«(claim|complaint|phone|email|chat|web)»", updates)


def _pages(client, pod: Pod) -> dict[str, str]:
    refresh()  # the demo loader chose a language in the tests' application context, which requests share
    board = db.session.scalar(select(StandupBoard).where(StandupBoard.pod_id == pod.id,
                                                         StandupBoard.day == NOW.date()))
    retros = list(db.session.scalars(select(Retro).where(Retro.pod_id == pod.id).order_by(Retro.id)))
    reviews = list(db.session.scalars(select(Review).where(Review.pod_id == pod.id).order_by(Review.id)))
    decisions = list(db.session.scalars(select(Decision.id).where(Decision.pod_id == pod.id)
                                        .order_by(Decision.id.desc()).limit(3)))
    urls = [f"/pods/{pod.id}", f"/standups/pods/{pod.id}", f"/standups/boards/{board.id}",
            *(f"/retros/{retro.id}" for retro in retros), *(f"/reviews/{review.id}" for review in reviews),
            f"/pods/{pod.id}/retros", "/autonomy/queue", "/autonomy/proposals", "/autonomy/limits",
            f"/recognition/pods/{pod.id}",
            *(f"/autonomy/decisions/{d}" for d in decisions)]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = html.unescape(response.get_data(as_text=True))
    return pages


@pytest.mark.parametrize("who, locale", [(COACH_EMAIL, "es"), (ITALIAN_COACH, "it")])
def test_spanish_and_italian_pages_show_no_english_demo_sentence(demo, client, auth, who, locale):
    user = db.session.scalar(select(User).where((User.email == who) | (User.display_name == who)))
    assert user.locale == locale
    pod = db.session.scalar(select(Pod).where(Pod.coaches.any(User.id == user.id)))
    auth.login(user.email, "podium-demo")
    pages = _pages(client, pod)
    assert {url: _english_in(page) for url, page in pages.items() if _english_in(page)} == {}

    # ... and the demo content is there, in the pod's language.
    plan = next(p for p in PODS if p.name == pod.name)
    assert plan.mission in pages[f"/pods/{pod.id}"]
    assert retros_demo.POD_TEMPLATE[0][locale] in pages[f"/pods/{pod.id}/retros"]  # a template named per language
    everything = " ".join(pages.values())
    own = _fragments(locale)
    assert len([fragment for fragment in own if fragment in everything]) >= 10


def test_english_speakers_write_english_and_the_check_finds_it(demo, client, auth):
    """The control of the check above: the English coach's pod, where English speakers write, shows English."""
    user = db.session.scalar(select(User).where(User.display_name == ENGLISH_COACH))
    pod = db.session.scalar(select(Pod).where(Pod.coaches.any(User.id == user.id)))
    auth.login(user.email, "podium-demo")
    pages = _pages(client, pod)
    assert len(_english_in(" ".join(pages.values()))) >= 5
