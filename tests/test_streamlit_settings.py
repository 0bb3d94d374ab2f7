"""Streamlit settings and output-escaping checks (issue 6 item 3).

* ``.streamlit/config.toml``: XSRF protection on, usage statistics off, no error details in the
  browser, an upload limit that fits the largest accepted media file (``domain/media.py``).
* A scan (ast) of ``app/`` and ``pages/``: no ``unsafe_allow_html=True`` except with a constant
  string from the allow-list below, and no user text (customer names, addresses, notes,
  reasons, ...) in a Markdown-rendering call unless it goes through ``app.widgets.md_escape``.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.media import MAX_BYTES, MB

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".streamlit" / "config.toml"
SCANNED = sorted([*(ROOT / "app").glob("*.py"), *(ROOT / "pages").glob("*.py")])

#: constant HTML snippets allowed with ``unsafe_allow_html=True`` (none today).
UNSAFE_HTML_ALLOWED: frozenset[str] = frozenset()

#: calls whose first positional argument, ``body``/``label``/``caption``/``help`` is rendered
#: as Markdown by Streamlit (alerts, text elements and widget labels), plus the pages' own
#: flash-message helpers whose text is later shown with ``st.success``.
MARKDOWN_CALLS = frozenset(
    {
        "markdown",
        "write",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "toast",
        "title",
        "header",
        "subheader",
        "expander",
        "popover",
        "button",
        "form_submit_button",
        "download_button",
        "link_button",
        "checkbox",
        "toggle",
        "radio",
        "selectbox",
        "multiselect",
        "text_input",
        "text_area",
        "number_input",
        "date_input",
        "metric",
        "image",
        "_done",
        "_flash",
    }
)
MARKDOWN_KEYWORDS = frozenset({"body", "label", "caption", "help"})

#: attribute / key / variable names that hold text typed by users or imported from OEM sheets
#: (phone numbers are not here: they are stored normalised to E.164, digits and a ``+``).
USER_TEXT = frozenset(
    {
        "customer_name",
        "address",
        "full_address",
        "city",
        "contact",
        "email",
        "vehicle_model",
        "notes",
        "review_notes",
        "issues",
        "parking",
        "reason",
        "cancel_reason",
        "reschedule_reason",
        "revision_reason",
        "closure_reason",
        "subject",
        "body",
        "nature_of_fault",
        "equipment_details",
        "caption",
        "charger_serial",
        "charger_model",
        "charger_model_name",
        "name",
        "display_name",
        "zone_name",
        "oem_name",
        "team_name",
        "material_name",
        "vendor_name",
        "username",
        "reviewer_username",
        "compiled_by",
        "closed_by",
        "holder",
        "lead_import_filename",
        "evidence_url",
    }
)

ESCAPER = "md_escape"

#: (file, name) pairs that match a user-text name but are not user text.
NOT_USER_TEXT = frozenset(
    {
        ("pages/kpis.py", "name"),  # a table title chosen by the page ("SLA by OEM", ...)
        ("pages/vendors.py", "reason"),  # a domain ValidationError message, like show_domain_error
    }
)


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return None


def _calls(path: Path) -> Iterator[ast.Call]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Call):
            yield node


def _unescaped_user_text(expr: ast.AST) -> list[str]:
    """Names of user-text values used in ``expr`` outside an ``md_escape(...)`` call."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Call) and _call_name(node) == ESCAPER:
            return  # escaped: everything inside is fine
        if isinstance(node, ast.IfExp):  # `x if cond else y`: cond is not rendered
            visit(node.body)
            visit(node.orelse)
            return
        if isinstance(node, ast.Attribute) and node.attr in USER_TEXT:
            found.append(node.attr)
        elif isinstance(node, ast.Name) and node.id in USER_TEXT:
            found.append(node.id)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and node.slice.value in USER_TEXT
        ):
            found.append(str(node.slice.value))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(expr)
    return found


def _markdown_args(call: ast.Call) -> list[ast.AST]:
    args: list[ast.AST] = []
    if call.args and _call_name(call) != "image":
        args.append(call.args[0])
    args.extend(k.value for k in call.keywords if k.arg in MARKDOWN_KEYWORDS)
    return args


# --- config.toml ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def config() -> dict:
    with CONFIG.open("rb") as f:
        return tomllib.load(f)


def test_xsrf_protection_is_on(config: dict) -> None:
    assert config["server"]["enableXsrfProtection"] is True
    # and CORS protection is not switched off
    assert config["server"].get("enableCORS", True) is True


def test_usage_statistics_are_off(config: dict) -> None:
    assert config["browser"]["gatherUsageStats"] is False


def test_no_error_details_in_the_browser(config: dict) -> None:
    assert config["client"]["showErrorDetails"] == "none"


def test_upload_limit_fits_the_largest_media_file(config: dict) -> None:
    limit_mb = config["server"]["maxUploadSize"]
    assert isinstance(limit_mb, int) and limit_mb > 0
    # Streamlit counts maxUploadSize in MB (2**20 bytes), as domain/media.py does.
    assert limit_mb * MB >= max(MAX_BYTES.values())
    assert limit_mb * MB == MAX_BYTES["video"], "the upload limit is the video limit (200 MB)"


def test_streamlit_accepts_the_config_options(config: dict) -> None:
    """Every option in config.toml is one Streamlit knows (a typo would be silently ignored)."""
    from streamlit import config as st_config

    known = set(st_config._config_options_template)  # noqa: SLF001 - the only registry there is
    for section, options in config.items():
        for name in options:
            assert f"{section}.{name}" in known, f"unknown Streamlit option {section}.{name}"


# --- code scan --------------------------------------------------------------------------------


def test_scan_covers_the_pages() -> None:
    names = {p.name for p in SCANNED}
    assert {"widgets.py", "auth.py", "leads.py", "installations.py"} <= names
    assert len(SCANNED) > 20


def test_no_unsafe_allow_html_with_dynamic_content() -> None:
    offenders = []
    for path in SCANNED:
        for call in _calls(path):
            for kw in call.keywords:
                if kw.arg != "unsafe_allow_html":
                    continue
                if isinstance(kw.value, ast.Constant) and kw.value.value is False:
                    continue
                body = call.args[0] if call.args else None
                if (
                    isinstance(kw.value, ast.Constant)
                    and kw.value.value is True
                    and isinstance(body, ast.Constant)
                    and body.value in UNSAFE_HTML_ALLOWED
                ):
                    continue
                offenders.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert not offenders, f"unsafe_allow_html outside the allow-list: {offenders}"


def test_user_text_in_markdown_is_escaped() -> None:
    offenders = []
    for path in SCANNED:
        for call in _calls(path):
            if _call_name(call) not in MARKDOWN_CALLS:
                continue
            for arg in _markdown_args(call):
                for name in _unescaped_user_text(arg):
                    if (str(path.relative_to(ROOT)), name) in NOT_USER_TEXT:
                        continue
                    offenders.append(f"{path.relative_to(ROOT)}:{call.lineno} {name}")
    assert not offenders, "user text in Markdown without md_escape():\n" + "\n".join(offenders)


def test_the_scan_catches_unescaped_user_text() -> None:
    """The scanner itself: it flags raw user text and accepts it once escaped."""
    bad = ast.parse('st.markdown(f"#### {lead.ref} · {lead.customer_name}")').body[0].value
    good = ast.parse('st.markdown(f"#### {lead.ref} · {md_escape(lead.customer_name)}")')
    sub = ast.parse("st.write(emergency['reason'])").body[0].value
    assert _unescaped_user_text(_markdown_args(bad)[0]) == ["customer_name"]
    assert _unescaped_user_text(_markdown_args(good.body[0].value)[0]) == []
    assert _unescaped_user_text(_markdown_args(sub)[0]) == ["reason"]
    cond = ast.parse('st.markdown(f"a" + (f" {md_escape(x.notes)}" if x.notes else ""))')
    assert _unescaped_user_text(_markdown_args(cond.body[0].value)[0]) == []
    label = ast.parse('st.selectbox(label=f"Team ({z.zone_name})", options=[])').body[0].value
    assert _unescaped_user_text(_markdown_args(label)[0]) == ["zone_name"]
