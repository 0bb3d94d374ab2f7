"""PDF building blocks shared by closure packs and weekly/monthly reports (fpdf2).

* A Unicode TTF font shipped with the project (DejaVu Sans, ``fonts/``; licence alongside), so
  ``₹`` and Indian names render the same on every machine.
* Every page carries the document title, "Page n of N" and a generated-at stamp in local time.
* ``write_atomically`` writes to a temporary file in the target directory and renames it over
  the target, so a crash or a full disk half-way never leaves a partial PDF and the previous
  file stays intact.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from db.types import utcnow
from domain.calendar import to_local

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"


class ReportPDF(FPDF):
    """An A4 portrait document with the shipped font, a header and a numbered footer.

    Args:
        title: shown in every page header and set as the PDF's title metadata.
        generated_at: the stamp printed in the footer (default now); aware datetime.
    """

    def __init__(self, title: str, *, generated_at: datetime | None = None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title = title
        self.generated_at = generated_at or utcnow()
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator("ChargeOps")
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages()
        self.add_page()

    def header(self) -> None:  # noqa: D401 - fpdf2 hook
        """Page header: the document title and a rule."""
        self.set_font(FONT, "B", 9)
        self.set_text_color(90, 90, 90)
        self.cell(0, 6, self.doc_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(200, 200, 200)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(3)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:  # noqa: D401 - fpdf2 hook
        """Page footer: "Page n of N" and the generated-at stamp (local time)."""
        self.set_y(-13)
        self.set_font(FONT, "", 8)
        self.set_text_color(110, 110, 110)
        stamp = to_local(self.generated_at).strftime("%d %b %Y %H:%M %Z")
        self.cell(0, 5, f"Generated {stamp} by ChargeOps", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    def heading(self, text: str, size: int = 14) -> None:
        """A bold section heading on its own line."""
        self.ln(2)
        self.set_font(FONT, "B", size)
        self.multi_cell(0, size * 0.5 + 2, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "", 10)

    def paragraph(self, text: str, size: int = 10) -> None:
        """Wrapped body text."""
        self.set_font(FONT, "", size)
        self.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def key_values(self, pairs: Sequence[tuple[str, str]], key_width: float = 55) -> None:
        """Two-column label/value lines (labels bold)."""
        for key, value in pairs:
            self.set_font(FONT, "B", 10)
            self.cell(key_width, 6, key)
            self.set_font(FONT, "", 10)
            self.multi_cell(0, 6, value or "—", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def data_table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        col_widths: Sequence[float] | None = None,
    ) -> None:
        """A bordered table with a bold header row; cells are strings, long tables page-break."""
        self.set_font(FONT, "", 9)
        with self.table(
            col_widths=tuple(col_widths) if col_widths else None,
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 239, 245)),
            line_height=6,
            text_align="LEFT",
        ) as table:
            head = table.row()
            for h in header:
                head.cell(h)
            for values in rows:
                row = table.row()
                for v in values:
                    row.cell(str(v))

    def to_bytes(self) -> bytes:
        """The finished document."""
        return bytes(self.output())


def write_atomically(data: bytes, target: Path) -> Path:
    """Write ``data`` to ``target`` via a temporary file in the same directory and a rename.

    The rename is atomic on one filesystem: readers see the old file or the new one, never a
    part. On any error (e.g. ``OSError`` for a full disk) the temporary file is removed, the
    previous ``target`` is untouched and the error propagates.

    Returns:
        ``target``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
