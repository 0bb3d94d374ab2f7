"""User text is shown literally: Markdown and HTML typed into a customer name, an address or a
notification never turns into formatting, links or tags (issue 6 item 3).

The pages pass user text through ``app.widgets.md_escape``; the Markdown source AppTest sees is
rendered here with a CommonMark parser (markdown-it-py, the same grammar Streamlit's
react-markdown follows) to check what the browser would show.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from app.widgets import md_escape
from db.engine import session_scope
from domain.leads.service import create_lead
from domain.notifications.models import Notification
from tests.fixtures.lead_sheets import seed_reference

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_NAME = "**bold** <script>alert(1)</script>"
HOSTILE_ADDRESS = "[click](javascript:alert(1)) _x_ `code` $x^2$ ~~gone~~ # 1. + - | !"

_md = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _html(markdown: str) -> str:
    return _md.render(markdown)


def _escaped_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.parametrize(
    "text",
    [
        HOSTILE_NAME,
        HOSTILE_ADDRESS,
        "a\\b \\*c\\*",
        "<img src=x onerror=alert(1)>",
        "{{ x }} :red[red] ![i](http://x/i.png)",
        "1. first",
        "# heading",
        "- item",
        "===",
        "---",
        "+ plus",
        "> quote",
        "1) first",
        "2026. year",
        "    four spaces",
        "Flat 4 ##",
        "&copy; &amp; &#169;",
        "<https://example.com> https://example.com",
        "a | b\n--|--\n1 | 2",
    ],
)
def test_md_escape_renders_literally(text: str) -> None:
    html = _html(md_escape(text)).strip()
    lines = [_escaped_html(ln.lstrip()) for ln in text.splitlines()]
    assert html == "<p>" + "<br />\n".join(lines) + "</p>"
    for tag in ("<strong", "<em", "<a ", "<script", "<img", "<code", "<h", "<ol", "<ul", "<del"):
        assert tag not in html


def test_md_escape_keeps_lines_and_handles_none() -> None:
    assert md_escape(None) == ""
    assert md_escape(42) == "42"
    assert _html(md_escape("line *one*\nline two")).strip() == "<p>line *one*<br />\nline two</p>"


@pytest.fixture
def world(app_engine: Engine) -> dict:
    with session_scope(app_engine) as s:
        ref = seed_reference(s)
        lead = create_lead(
            s,
            ref["admin"],
            oem_id=ref["tata_id"],
            oem_lead_ref="T-HTML-1",
            customer_name=HOSTILE_NAME,
            phone="+919845000099",
            email=None,
            address=HOSTILE_ADDRESS,
            city="Bengaluru",
            pincode="560001",
            vehicle_model="Nexon EV",
            requested_charger_type=None,
            received_at=datetime(2026, 1, 5, 10, 0),
        )
        s.add(
            Notification(
                recipient_user_id=ref["admin"].user_id,
                kind="sla_at_risk",
                subject=f"SLA at risk: {HOSTILE_NAME}",
                body=f"Customer {HOSTILE_NAME} at {HOSTILE_ADDRESS}",
                dedupe_key="test-escaping-1",
            )
        )
    return {**ref, "lead_ref": lead.ref}


def _markdown_sources(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_lead_detail_shows_a_hostile_customer_name_literally(world: dict) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "leads.py"), default_timeout=60)
    at.session_state["actor"] = world["admin"]
    at.run()
    assert not at.exception
    at.selectbox(key="leads_detail_ref").select(world["lead_ref"]).run()
    assert not at.exception
    sources = _markdown_sources(at)
    heading = next(m for m in sources if m.startswith(f"#### {world['lead_ref']}"))
    assert heading == f"#### {world['lead_ref']} · {md_escape(HOSTILE_NAME)}"
    html = _html(heading)
    assert f"· {_escaped_html(HOSTILE_NAME)}</h4>" in html
    assert "<strong" not in html and "<script" not in html
    address = next(m for m in sources if m.startswith("**Address:**"))
    html = _html(address)
    assert _escaped_html(HOSTILE_ADDRESS) in html
    assert "<a " not in html and "<code" not in html and "<em" not in html


def test_notification_subject_and_body_are_shown_literally(world: dict) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "notifications.py"), default_timeout=60)
    at.session_state["actor"] = world["admin"]
    at.run()
    assert not at.exception
    rendered = [_html(m) for m in _markdown_sources(at)]
    subject = [h for h in rendered if "SLA at risk" in h]
    body = [h for h in rendered if "Customer " in h]
    assert subject and body, rendered
    assert f"<strong>SLA at risk: {_escaped_html(HOSTILE_NAME)}</strong>" in subject[0]
    assert _escaped_html(f"Customer {HOSTILE_NAME} at {HOSTILE_ADDRESS}") in body[0]
    for h in subject + body:
        assert "<script" not in h and "<a " not in h and "<em" not in h
