"""Markdown and CSV of a closed retro; authors appear only for cards of a retro that was not anonymous.

The Markdown is for people: dates as the reader writes them. The CSV is data for spreadsheets and tools: ISO 8601
dates and plain numbers, which every spreadsheet locale reads the same way."""

from __future__ import annotations

import io

from flask_babel import format_date, ngettext
from flask_babel import gettext as _

from app.csvexport import SafeWriter
from app.org.principles import principle_label
from app.retros import effects
from app.retros.board import Board
from app.retros.catalog import template_title
from app.retros.models import status_label


def _author(board: Board, card) -> str:
    if board.retro.anonymous or card.author is None:
        return ""
    return card.author.display_name


def _effect(action) -> str:
    if not action.metric_code:
        return ""
    text = f"{effects.metric_name(action.metric_code)} {action.arrow} · {_('baseline')} " \
           f"{effects.format_value(action.metric_code, action.baseline_value)}"
    if action.result_value is not None:
        text += f" → {effects.format_value(action.metric_code, action.result_value)}"
    return text


def markdown(board: Board) -> str:
    retro = board.retro
    lines = [f"# {retro.title}", "",
             f"- {_('Pod')}: {board.pod.name}",
             f"- {_('Template')}: {template_title(retro)}",
             f"- {_('Date')}: {format_date(retro.created_at, 'medium')}",
             f"- {_('Facilitator')}: {retro.facilitator.display_name if retro.facilitator else '—'}", ""]
    lines += [f"## {_('Topics by votes')}", ""]
    titles = board.column_titles
    for topic in board.topics:
        lines.append(f"### {topic.title} ({ngettext('%(num)s vote', '%(num)s votes', topic.votes)})")
        for card in topic.cards:
            author = _author(board, card)
            suffix = f" — {author}" if author else ""
            lines.append(f"- [{titles.get(card.column_key, card.column_key)}] {card.text}{suffix}")
        for note in topic.notes:
            lines.append(f"  - {_('Note')}: {note.text}")
        lines.append("")
    lines += [f"## {_('Action items')}", ""]
    if not board.actions:
        lines.append(_("No action items."))
    for action in board.actions:
        owner = action.owner.display_name if action.owner else "—"
        line = (f"- **{action.title}** — {owner}, {_('due')} {format_date(action.due_date, 'medium')}, "
                f"{principle_label(action.principle)}, {status_label(action.status)}")
        effect = _effect(action)
        lines.append(line + (f" — {effect}" if effect else ""))
    return "\n".join(lines).rstrip() + "\n"


def csv_text(board: Board) -> str:
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(["kind", "topic", "column", "text", "votes", "author", "owner", "due_date", "principle",
                     "status", "metric", "direction", "baseline", "result"])
    titles = board.column_titles
    for topic in board.topics:
        for card in topic.cards:
            writer.writerow(["card", topic.title, titles.get(card.column_key, card.column_key), card.text,
                             topic.votes, _author(board, card), "", "", "", "", "", "", "", ""])
        for note in topic.notes:
            writer.writerow(["note", topic.title, "", note.text, "", "", "", "", "", "", "", "", "", ""])
    for action in board.actions:
        writer.writerow(["action", "", "", action.title, "", "", action.owner.display_name if action.owner else "",
                         action.due_date, principle_label(action.principle), status_label(action.status),
                         action.metric_code or "", action.direction or "", action.baseline_value,
                         action.result_value])
    return buffer.getvalue()
