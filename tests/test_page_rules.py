"""Static rules every page keeps (an ast scan of ``pages/``).

* A write goes through ``app.widgets.run_command``: the retrying unit of work (issue 6 item 4:
  busy and serialization errors are retried a bounded number of times). A page may open
  ``session_scope(readonly=True)`` itself to read, never a read-write ``session_scope()``.
* No SQLAlchemy in a page: queries and rules live in ``domain/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "pages").glob("*.py"))


def _is_readonly(call: ast.Call) -> bool:
    return any(
        kw.arg == "readonly" and isinstance(kw.value, ast.Constant) and kw.value.value is True
        for kw in call.keywords
    )


def _read_write_scopes(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name == "session_scope" and not _is_readonly(node):
            lines.append(node.lineno)
    return lines


def test_the_scan_sees_pages() -> None:
    assert len(PAGES) >= 15
    sample = ast.parse("with session_scope() as s:\n    pass\nsession_scope(readonly=True)\n")
    assert _read_write_scopes(sample) == [1]


def test_pages_write_only_through_run_command() -> None:
    offenders = {
        page.name: lines
        for page in PAGES
        if (lines := _read_write_scopes(ast.parse(page.read_text(), str(page))))
    }
    assert not offenders, f"read-write session_scope() in pages (use run_command): {offenders}"


def test_pages_do_not_import_sqlalchemy() -> None:
    offenders = []
    for page in PAGES:
        for node in ast.walk(ast.parse(page.read_text(), str(page))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(n == "sqlalchemy" or n.startswith("sqlalchemy.") for n in names):
                offenders.append(page.name)
    assert not offenders, f"SQLAlchemy imported in pages: {offenders}"
