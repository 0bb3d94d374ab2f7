"""Weekly and monthly report PDFs (fpdf2, ``domain.reporting.pdf.ReportPDF``).

A report PDF shows the OEM and period, the headline figures, a bar chart of the period's
counts (drawn with fpdf2 rectangles), the per-zone breakdown table, and (monthly) revenue in
INR with ``₹`` and Indian grouping, the SLA compliance rate and the SLA breaches.

Files live under ``<data_dir>/reports/<weekly|monthly>/<OEM code>/<period start>-v<version>.pdf``
and are written atomically (``write_atomically``): a crash half-way leaves no partial PDF.
Temporary files left by a process killed during a write are removed before the next write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from db.settings import get_settings
from domain.money import format_inr
from domain.reporting.pdf import FONT, ReportPDF, write_atomically


@dataclass(frozen=True)
class ReportContent:
    """What a report PDF prints (plain values, no ORM objects).

    ``figures`` maps the stored figure columns (``total_leads``, ``surveys_completed``,
    ``installations_completed``, ``closure_packs_submitted`` and, monthly,
    ``total_revenue`` (Decimal/str INR), ``average_installation_time_days``,
    ``sla_compliance_rate``) to values; ``details`` is the report's JSON snapshot
    (``zones``, ``sla_breaches``, ``sla_met``, ``sla_target_days``).
    """

    report_type: str  # weekly | monthly
    oem_code: str
    oem_name: str
    period_start: date
    period_end: date  # inclusive, for display
    version: int
    figures: Mapping[str, Any]
    details: Mapping[str, Any]
    generated_at: datetime


def _dash(value: Any, suffix: str = "") -> str:
    return "—" if value is None else f"{value}{suffix}"


def _bar_chart(pdf: ReportPDF, bars: Sequence[tuple[str, int]], height: float = 45) -> None:
    """Horizontal-axis bar chart with value labels, drawn with rectangles."""
    left = pdf.l_margin + 5
    width = pdf.w - pdf.l_margin - pdf.r_margin - 10
    top = pdf.get_y() + 4
    if top + height + 14 > pdf.h - pdf.b_margin:
        pdf.add_page()
        top = pdf.get_y() + 4
    peak = max([v for _, v in bars] + [1])
    slot = width / max(len(bars), 1)
    bar_w = slot * 0.55
    base = top + height
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, base, left + width, base)
    pdf.set_font(FONT, "", 8)
    for i, (label, value) in enumerate(bars):
        x = left + i * slot + (slot - bar_w) / 2
        h = height * value / peak
        pdf.set_fill_color(46, 110, 182)
        if h > 0:
            pdf.rect(x, base - h, bar_w, h, style="F")
        pdf.set_xy(x - 5, base - h - 5)
        pdf.cell(bar_w + 10, 4, str(value), align="C")
        pdf.set_xy(left + i * slot, base + 1)
        pdf.cell(slot, 4, label, align="C")
    pdf.set_xy(pdf.l_margin, base + 8)


def render_report_pdf(content: ReportContent) -> bytes:
    """The report as PDF bytes (see the module docstring for what it contains)."""
    kind = "Weekly" if content.report_type == "weekly" else "Monthly"
    if content.report_type == "weekly":
        period = f"{content.period_start:%d %b %Y} – {content.period_end:%d %b %Y} (Monday–Sunday)"
    else:
        period = f"{content.period_start:%B %Y}"
    title = f"{kind} report · {content.oem_code} · {period}"
    pdf = ReportPDF(title, generated_at=content.generated_at)
    f = content.figures
    d = content.details
    pdf.heading(f"{kind} report for {content.oem_name} ({content.oem_code})", 16)
    pdf.paragraph(f"Period: {period}. Version {content.version}.")
    pdf.heading("Figures", 12)
    pairs = [
        ("Leads received", str(f.get("total_leads", 0))),
        ("Surveys completed", str(f.get("surveys_completed", 0))),
        ("Installations completed", str(f.get("installations_completed", 0))),
        ("Closure packs submitted", str(f.get("closure_packs_submitted", 0))),
    ]
    if content.report_type == "monthly":
        pairs += [
            ("Total revenue", format_inr(f.get("total_revenue"))),
            ("Avg. installation time", _dash(f.get("average_installation_time_days"), " days")),
            ("SLA compliance", _dash(f.get("sla_compliance_rate"), " %")),
            (
                "SLA met",
                f"{d.get('sla_met', 0)} of {f.get('installations_completed', 0)} "
                f"(target {d.get('sla_target_days', '—')} business days)",
            ),
        ]
        if d.get("unpriced_installations"):
            pairs.append(("Unpriced installations", str(d["unpriced_installations"])))
    pdf.key_values(pairs)
    pdf.heading("Activity", 12)
    _bar_chart(
        pdf,
        [
            ("Leads", int(f.get("total_leads", 0))),
            ("Surveys", int(f.get("surveys_completed", 0))),
            ("Installations", int(f.get("installations_completed", 0))),
            ("Packs submitted", int(f.get("closure_packs_submitted", 0))),
        ],
    )
    zones = list(d.get("zones", []))
    pdf.heading("By zone", 12)
    if zones:
        header = ["Zone", "Leads", "Surveys", "Installations", "Packs"]
        widths: list[float] = [50, 25, 25, 30, 25]
        if content.report_type == "monthly":
            header += ["SLA met", "Revenue"]
            widths = [34, 18, 20, 26, 18, 20, 44]
        rows = []
        for z in zones:
            row = [
                f"{z['zone_code']} – {z['zone_name']}",
                str(z["leads_received"]),
                str(z["surveys_completed"]),
                str(z["installations_completed"]),
                str(z["closure_packs_submitted"]),
            ]
            if content.report_type == "monthly":
                row += [str(z["sla_met"]), format_inr(z["total_revenue"])]
            rows.append(row)
        pdf.data_table(header, rows, widths)
        if len(zones) > 1:
            pdf.ln(2)
            _bar_chart(
                pdf,
                [(z["zone_code"], int(z["installations_completed"])) for z in zones],
                height=35,
            )
    else:
        pdf.paragraph("No activity in this period.")
    if content.report_type == "monthly":
        breaches = list(d.get("sla_breaches", []))
        pdf.heading("SLA breaches", 12)
        if breaches:
            pdf.data_table(
                ["Installation", "Lead", "Customer", "Zone", "Received", "Completed", "Days"],
                [
                    [
                        b["installation_ref"],
                        b["lead_ref"],
                        b["customer_name"],
                        b["zone_code"],
                        b["received_on"],
                        b["completed_on"],
                        f"{b['business_days']}/{b['target_days']}",
                    ]
                    for b in breaches
                ],
                [30, 30, 36, 16, 24, 24, 20],
            )
        else:
            pdf.paragraph("None.")
    return pdf.to_bytes()


def report_relpath(report_type: str, oem_code: str, period_start: date, version: int) -> str:
    """Where a report version's PDF lives, relative to the data directory."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in oem_code)
    return f"reports/{report_type}/{safe}/{period_start.isoformat()}-v{version}.pdf"


def _remove_stale_temps(target: Path) -> None:
    if target.parent.is_dir():
        for tmp in target.parent.glob(f".{target.name}.*.tmp"):
            tmp.unlink(missing_ok=True)


def write_report_pdf(content: ReportContent) -> str:
    """Render and atomically write the report PDF; returns its path relative to data_dir.

    Raises:
        OSError: the file could not be written (nothing partial is left behind).
    """
    rel = report_relpath(
        content.report_type, content.oem_code, content.period_start, content.version
    )
    target = get_settings().data_dir / rel
    data = render_report_pdf(content)
    _remove_stale_temps(target)
    write_atomically(data, target)
    return rel
