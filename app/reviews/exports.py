"""Exports of a review and of the cross-pod view: CSV of the figures and a PDF (fpdf2).

PDFs embed DejaVu Sans (app/reviews/fonts, taken from the matplotlib wheel, which ships it; Bitstream Vera
and DejaVu licences in LICENSE-DejaVu.txt), so any narrative prints: "€", "ő", "ł", Greek, Cyrillic. A
character the font lacks (most emoji) prints as an empty box instead of failing the export.
"""

from __future__ import annotations

from pathlib import Path

from flask_babel import format_decimal
from flask_babel import gettext as _

from app.csvexport import csv_text
from app.extension_points import quarter_parts
from app.outcomes import metrics
from app.outcomes.metrics import format_value as format_metric

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "dejavu"


def review_csv(data: dict) -> str:
    """One row per metric: raw engine values (rates as fractions, times in minutes)."""
    rows = [["pod", "quarter", "metric", "value", "numerator", "denominator", "target", "previous_quarter",
             "same_quarter_last_year", "target_status"]]
    for row in data["scorecard"]:
        rows.append([data["pod"], data["quarter"], row["code"], row["value"], row["numerator"],
                     row["denominator"], row["target"], row["previous"], row["last_year"], row["status"]])
    return csv_text(rows)


def matrix_csv(quarter: str, rows: list[dict]) -> str:
    out = [["quarter", "pod", "metric", "value", "target", "target_status"]]
    for row in rows:
        for code, cell in row["cells"].items():
            out.append([quarter, row["pod"].name, code, cell["value"], cell["target"], cell["status"]])
    return csv_text(out)


def _text(text) -> str:
    return str(text)


def _pdf(orientation: str = "P", margin: float = 15):
    from fpdf import FPDF

    pdf = FPDF(orientation=orientation, unit="mm", format="A4")
    pdf.set_compression(False)  # plain content streams: simple tools can read them
    pdf.set_auto_page_break(auto=True, margin=margin)
    pdf.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    return pdf


def _cells(pdf, widths: list[float], values: list, bold: bool = False) -> None:
    pdf.set_font(FONT, "B" if bold else "", 8)
    for width, value in zip(widths, values, strict=True):
        pdf.cell(width, 6, _text(value), border=1)
    pdf.ln()


def review_pdf(data: dict, narrative: dict[str, str], section_labels: dict[str, str], status_label: str,
               objectives: list[dict]) -> bytes:
    pdf = _pdf()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 10, _text(_("Quarterly review: %(pod)s, %(quarter)s", pod=data["pod"], quarter=data["quarter"])))
    pdf.ln()
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 6, _text(status_label))
    pdf.ln(8)
    widths = [62, 26, 26, 26, 26, 24]
    _cells(pdf, widths, [_("Metric"), _("Value"), _("Target"), _("Previous quarter"), _("Last year"),
                         _("Status")], bold=True)
    for row in data["scorecard"]:
        code = row["code"]
        _cells(pdf, widths, [metrics.METRICS[code].label, format_metric(code, row["value"]),
                             format_metric(code, row["target"]), format_metric(code, row["previous"]),
                             format_metric(code, row["last_year"]), _status(row["status"])])
    activity = data.get("activity")
    if activity:
        pdf.ln(4)
        pdf.set_font(FONT, "B", 12)
        pdf.cell(0, 8, _text(_("The quarter in the pod")))
        pdf.ln()
        pdf.set_font(FONT, "", 9)
        for line in _activity_lines(activity):
            pdf.multi_cell(0, 5, _text(line), new_x="LMARGIN", new_y="NEXT")
    if data["okrs"]:
        pdf.ln(4)
        pdf.set_font(FONT, "B", 12)
        pdf.cell(0, 8, _text(_("Last quarter's objectives")))
        pdf.ln()
        _okr_table(pdf, data["okrs"])
    for section, text in narrative.items():
        if not text:
            continue
        pdf.ln(3)
        pdf.set_font(FONT, "B", 11)
        pdf.cell(0, 7, _text(section_labels[section]))
        pdf.ln()
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(0, 5, _text(text), new_x="LMARGIN", new_y="NEXT")
    if objectives:
        pdf.ln(4)
        pdf.set_font(FONT, "B", 12)
        pdf.cell(0, 8, _text(_("Next quarter's objectives")))
        pdf.ln()
        _okr_table(pdf, objectives)
    return bytes(pdf.output())


def _activity_lines(activity: dict) -> list[str]:
    """Each feature's part of the quarter as the page shows it (its heading, then its sentences)."""
    return [part.title + ": " + "; ".join(part.lines) for part in quarter_parts(activity)]


def _score(value: float) -> str:
    """An OKR score (0 to 1) as the reader writes decimals: 0.75 in English, 0,75 in Spanish and Italian."""
    return format_decimal(value, "0.00")


def _status(status: str | None) -> str:
    return {"met": _("met"), "missed": _("missed")}.get(status or "", "-")


def _okr_table(pdf, objectives: list[dict]) -> None:
    widths = [70, 24, 24, 24, 24, 24]
    for objective in objectives:
        score = objective.get("score")
        pdf.set_font(FONT, "B", 9)
        pdf.cell(0, 6, _text(objective["title"] + (f"  ({_score(score)})" if score is not None else "")))
        pdf.ln()
        _cells(pdf, widths, [_("Key result"), _("Baseline"), _("Target"), _("Actual"), _("Score"),
                             _("Confidence")], bold=True)
        for kr in objective["key_results"]:
            code = kr["metric"]
            label = metrics.METRICS[code].label if code in metrics.METRICS else code
            _cells(pdf, widths, [label, format_metric(code, kr["baseline"]), format_metric(code, kr["target"]),
                                 format_metric(code, kr.get("actual")),
                                 "-" if kr.get("score") is None else _score(kr["score"]),
                                 f"{format_decimal(kr['confidence'])}/10"])


def matrix_pdf(quarter: str, rows: list[dict], codes: list[str]) -> bytes:
    pdf = _pdf("L", margin=12)
    pdf.set_font(FONT, "B", 14)
    pdf.cell(0, 10, _text(_("All pods, %(quarter)s", quarter=quarter)))
    pdf.ln()
    first = 45
    width = (277 - first) / max(1, len(codes))
    widths = [first] + [width] * len(codes)
    pdf.set_font(FONT, "B", 6)
    for w, label in zip(widths, [_("Pod")] + [str(metrics.METRICS[c].label) for c in codes], strict=True):
        pdf.cell(w, 8, _text(label[:22]), border=1)
    pdf.ln()
    for row in rows:
        values = [row["pod"].name] + [format_metric(c, row["cells"][c]["value"]) for c in codes]
        _cells(pdf, widths, values)
    return bytes(pdf.output())
