"""The DPO report as CSV and as PDF: the same rows the page shows."""

import csv
import io

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lfr_governance import clock
from . import charts
from .selectors import deletions_by_day, held_by_age

KIND_HEADER = ["deployment", "title", "status", "data kind", "held", "deleted", "deleted at", "due at", "overdue"]
# The CSV adds the deployment's figures per passer-by to each of its rows, after the columns above (kept in order);
# the PDF's table keeps to the columns above and states the figures in a sentence per deployment.
CSV_HEADER = KIND_HEADER + ["passers-by", "faces", "alerts", "false alerts", "candidates not confirmed",
                            "false alerts per passer-by",
                            # Added after the columns above, which keep their order.
                            "crops without a face", "frames expired unprocessed", "frames refused, workers behind"]


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else ""


def _passer_by_cells(report: dict) -> list[str]:
    f, rate = report["figures"], report["false_alert_rate"]
    nm = report["non_match"]
    return [str(f["passers_by"]), str(nm.get("faces_detected", 0)), str(f["alerts"]),
            str(f["false_alerts"]), str(f["candidates_not_confirmed"]), rate.text,
            str(nm.get("crops_without_face", 0)), str(nm.get("frames_expired", 0)), str(nm.get("frames_refused_busy", 0))]


def passer_by_text(report: dict) -> str:
    """The deployment's figures per passer-by in one sentence (the PDF)."""
    f = report["figures"]
    return (f"LFR-{report['deployment'].pk:05d} per passer-by: passers-by {f['passers_by']}, faces "
            f"{report['non_match'].get('faces_detected', 0)}; alerts {f['alerts']} (one per person: "
            f"{f['true_alerts']} confirmed, {f['false_alerts']} false); candidates not confirmed "
            f"{f['candidates_not_confirmed']}; false alerts per passer-by: {report['false_alert_rate'].text}.")


def report_rows(reports: list[dict]) -> list[list[str]]:
    rows = []
    for report in reports:
        d, figures = report["deployment"], _passer_by_cells(report)
        for row in report["kinds"]:
            rows.append([f"LFR-{d.pk:05d}", d.title, d.get_status_display(), row["kind"].label, str(row["held"]),
                         str(row["deleted"]), _when(row["deleted_at"]), _when(row["due_at"]),
                         "yes" if row["overdue"] else "no", *figures])
        nm = report["non_match"]
        rows.append([f"LFR-{d.pk:05d}", d.title, d.get_status_display(), "Non-match frames, crops and templates",
                     "0", str(nm["frames_deleted"]), "at processing", "at once", "no", *figures])
    return rows


def report_csv(reports: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    writer.writerows(report_rows(reports))
    return out.getvalue()


def report_pdf(reports: list[dict], summary: dict) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), title="Retention and deletion report",
                            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm, bottomMargin=12 * mm)
    styles = getSampleStyleSheet()
    last = summary["last_success"]
    story = [
        Paragraph("Retention and deletion report", styles["Title"]),
        Paragraph(f"Produced {_when(clock.now())}. Last successful purge: "
                  f"{_when(last.finished_at) if last else 'never'}. Overdue records: {summary['overdue_total']}. "
                  f"Media files referenced by no record: {summary['orphans']['held']} "
                  f"({summary['orphans']['past_grace']} past the grace period; {summary['orphans']['deleted']} "
                  "erased so far).", styles["Normal"]),
        Spacer(1, 4 * mm),
    ]
    table = Table([KIND_HEADER] + [row[:len(KIND_HEADER)] for row in report_rows(reports)], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8), ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f2f1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story += [table, Spacer(1, 4 * mm)]
    for report in reports:
        nm = report["non_match"]
        story.append(Paragraph(
            f"LFR-{report['deployment'].pk:05d} non-match deletion evidence: frames received {nm['frames_received']}, "
            f"processed {nm['frames_processed']}, deleted {nm['frames_deleted']}, refused {nm['frames_refused']}, "
            f"faces detected {nm['faces_detected']}, crops without a face {nm.get('crops_without_face', 0)}; "
            f"accepted frames that expired unprocessed {nm.get('frames_expired', 0)}; frames refused because the "
            f"workers were behind {nm.get('frames_refused_busy', 0)}; deletion latency mean {nm['deletion_ms_mean'] or 0} ms, "
            f"p50 {nm.get('deletion_ms_p50') or 0} ms, p99 {nm.get('deletion_ms_p99') or 0} ms, "
            f"max {nm['deletion_ms_max'] or 0} ms.", styles["Normal"]))
        story.append(Paragraph(passer_by_text(report), styles["Normal"]))
        for hold in report["holds"]:
            story.append(Paragraph(
                f"Legal hold on alert {hold.alert_ref}: {hold.reason} (owner {hold.owner.get_full_name() or hold.owner}, "
                f"review {hold.review_date:%d %b %Y}; {'held' if hold.active else 'released'}).", styles["Normal"]))
    story.append(Spacer(1, 4 * mm))
    for png in (charts.deletions_chart(deletions_by_day()), charts.held_by_age_chart(held_by_age())):
        story.append(Image(io.BytesIO(png), width=230 * mm, height=80 * mm))
    doc.build(story)
    return out.getvalue()
