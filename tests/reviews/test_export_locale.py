"""Review PDFs write numbers as the reader does: OKR scores, figures and shares in Spanish and Italian use a
decimal comma, in English a decimal point."""

from __future__ import annotations

from flask_babel import force_locale

from app.reviews import exports
from tests.pdf_text import pdf_text

OKRS = [{"title": "Fewer handoffs", "score": 0.75, "key_results": [
    {"metric": "handoff_rate", "baseline": 0.2, "target": 0.15, "actual": 0.125, "score": 0.5, "confidence": 7}]}]
DATA = {"pod": "Home pod", "quarter": "2026-Q3", "okrs": OKRS, "activity": None,
        "scorecard": [{"code": "csat", "value": 0.875, "target": 0.9, "previous": 0.8, "last_year": None,
                       "status": "missed", "numerator": 7, "denominator": 8}]}


def _pdf(app, locale: str) -> str:
    with app.test_request_context("/"), force_locale(locale):
        return pdf_text(exports.review_pdf(DATA, {}, {}, "Draft", OKRS))


def test_review_pdf_numbers_follow_the_readers_language(app):
    english, spanish, italian = _pdf(app, "en"), _pdf(app, "es"), _pdf(app, "it")
    assert "(0.75)" in english and "0.50" in english and "87.5" in english
    for text in (spanish, italian):
        assert "(0,75)" in text and "0,50" in text and "87,5" in text
        assert "0.75" not in text and "0.50" not in text
