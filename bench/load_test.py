"""Load test on loopback (issue 6 item 8): concurrent simulated users in real browsers.

``python -m bench.load_test --users 10 --seconds 180`` (``make bench``), ``--quick`` for 3 users
and 20 s (``tests/e2e/test_load_smoke.py``).

What it does, all on 127.0.0.1:

1. creates a private PostgreSQL database ``chargeops_load_<pid>`` (admin connection
   ``BENCH_POSTGRES_URL``, else ``TEST_POSTGRES_URL``, else ``postgresql://127.0.0.1:5432/test``),
   migrates it and seeds the demo data (``python -m db.seed --scale S``);
2. plans each user's edits with domain queries (each planner gets its own zone for service
   ticket notes, each procurement user its own zone for stock counts; candidate installations
   for confirmation calls and procurement requests are dry-run checked in a rolled-back
   transaction) and opens a few live service tickets per planner zone (setup data);
3. starts the scheduler sidecar (``python -m scheduler``) and one Streamlit server
   (``app/main.py``) on a free loopback port as subprocesses;
4. drives N users, each a Playwright browser context of ONE headless Debian Chromium, each an
   asyncio task, for ``--seconds``: log in (roles in the order of ``ROLE_CYCLE``), visit pages
   of the role's menu, and edit through the UI: a confirmation call note (planner), a service
   ticket note (planner), a stock count with a reason (procurement), a new procurement request
   (planner, procurement). Every edit carries a unique marker (uuid4) in its text; a
   procurement request has no free-text field, so its marker is tied to the ref the UI
   returns and the request is checked by ref, installation, material, quantity, cost and
   requester;
5. stops the servers and checks: no Streamlit exception box, no ``st.error``, no HTTP 5xx, no
   browser-side timeout, no traceback in the app or sidecar log, no failed ``job_run``, the
   sidecar still alive, and every confirmed edit found in the database (no lost write).

Output: ONE JSON document on stdout (progress on stderr): page times (navigation click to the
new page's heading shown and the script idle, in ms: p50/p95/max and count per page and
overall; ``login`` is submit to landing page idle), edit times (submit click to the success
message), error count and the first errors, edits attempted/confirmed/found per kind, lost
writes. Exit status 1 on any error or lost write; 0 with a ``skipped`` reason when PostgreSQL
or Chromium is missing. A watchdog kills everything after ``--timeout`` seconds (default
``seconds + 420``) and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", os.environ.get("TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
)
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ROLE_CYCLE = (
    "planner",
    "procurement",
    "manager",
    "planner",
    "reporting",
    "engineer",
    "procurement",
    "tata.viewer",
    "planner",
    "admin",
    "mg.viewer",
    "manager",
)
"""Demo logins of users 0, 1, 2, ... (cycled): ``--quick`` (3 users) is planner, procurement,
manager; 10 users are three planners, two procurement users and one each of manager,
reporting, field engineer, OEM viewer and admin."""

EDIT_SHARE = 0.4
"""Probability that an editing user's next action is an edit (else a page visit)."""
ACTION_TIMEOUT_MS = 90_000
"""Playwright timeout of one step (the machine may be loaded: 10 browsers on few CPUs)."""
TICKETS_PER_PLANNER = 3


def log(msg: str) -> None:
    """Progress to stderr (stdout carries only the JSON document)."""
    print(f"[load {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(_percentile(values, 95), 1),
        "max_ms": round(max(values), 1),
    }


# --- Plan: who edits what (domain queries on the seeded database) ------------------------------


@dataclass
class UserPlan:
    """One simulated user: login, menu and the targets of its edits."""

    index: int
    username: str
    password: str
    role: str
    landing: str  # title of the landing page
    titles: list[str]  # menu titles
    ticket_zone: str | None = None  # zone label (planners)
    tickets: list[str] = field(default_factory=list)  # live ticket refs in that zone
    calls: list[str] = field(default_factory=list)  # installation refs for confirmation calls
    stock_zone: str | None = None  # zone label (procurement)
    requests: list[str] = field(default_factory=list)  # installation refs for requests
    skus: list[str] = field(default_factory=list)  # active material SKUs
    rank: int = 0  # index among the users of the same login: where its edit kinds start

    @property
    def edit_kinds(self) -> list[str]:
        kinds = []
        if self.calls:
            kinds.append("confirmation_call")
        if self.tickets:
            kinds.append("ticket_note")
        if self.stock_zone:
            kinds.append("stock_count")
        if self.requests and self.skus:
            kinds.append("procurement_request")
        return kinds


def plan_users(url: str, users: int) -> list[UserPlan]:
    """Give each of ``users`` users a demo login and its edit targets; open
    ``TICKETS_PER_PLANNER`` live service tickets in each planner's zone (setup data)."""
    from sqlalchemy import select

    from app.nav import PAGES, landing_file_for, page_specs_for
    from db import make_engine, session_scope
    from db.reference import DEMO_USERS
    from db.types import utcnow
    from domain.accounts import queries as account_queries
    from domain.accounts.dto import actor_for
    from domain.accounts.models import AppUser
    from domain.calendar import local_date
    from domain.errors import DomainError
    from domain.installations import service as inst_service
    from domain.installations.models import Installation
    from domain.procurement import queries as proc_queries
    from domain.procurement.requests import create_request
    from domain.service.service import open_ticket

    demo = {u.username: u for u in DEMO_USERS}
    title_of = {p.file: p.title for p in PAGES}
    engine = make_engine(url)
    plans: list[UserPlan] = []
    try:
        with session_scope(engine) as s:
            actors = {u.username: actor_for(u) for u in s.scalars(select(AppUser))}
            zones = sorted(account_queries.list_zones(s), key=lambda z: z.code)
            labels = [f"{z.name} ({z.code})" for z in zones]
            planner = actors["planner"]
            procurement = actors["procurement"]

            def dry_run(action: Any) -> bool:
                """True when the command succeeds; always rolled back."""
                with session_scope(engine, readonly=True) as d:
                    try:
                        action(d)
                        d.flush()
                    except DomainError:
                        return False
                return True

            open_jobs = s.scalars(
                select(Installation)
                .where(
                    Installation.status.in_(
                        ("planned", "material_pending", "material_ready", "confirmed")
                    )
                )
                .order_by(Installation.ref)
            ).all()
            callable_refs = [
                i.ref
                for i in open_jobs
                if dry_run(
                    lambda d, i=i: inst_service.record_customer_confirmation(
                        d, planner, installation_id=i.id, outcome="no_answer", notes="dry run"
                    )
                )
            ]
            materials = proc_queries.list_materials(s, procurement, active_only=True)
            skus = [m.sku for m in materials]
            request_refs = [
                i.ref
                for i in open_jobs
                if materials
                and dry_run(
                    lambda d, i=i: create_request(
                        d,
                        procurement,
                        installation_id=i.id,
                        material_id=materials[0].id,
                        quantity=1,
                        vendor_id=None,
                        estimated_cost=None,
                    )
                )
            ]
            n_planners = sum(
                1 for i in range(users) if ROLE_CYCLE[i % len(ROLE_CYCLE)] == "planner"
            )
            today = local_date(utcnow())
            planner_k = procurement_k = 0
            for i in range(users):
                username = ROLE_CYCLE[i % len(ROLE_CYCLE)]
                actor = actors[username]
                p = UserPlan(
                    index=i,
                    username=username,
                    password=demo[username].password,
                    role=actor.role,
                    landing=title_of[landing_file_for(actor.role)],
                    titles=[spec.title for spec in page_specs_for(actor.role)],
                )
                if username == "planner":
                    zone = zones[(planner_k * 3) % len(zones)]
                    p.ticket_zone = labels[zones.index(zone)]
                    installed = _installed_in_zone(s, zone.id)
                    for n in range(TICKETS_PER_PLANNER if installed else 0):
                        t = open_ticket(
                            s,
                            planner,
                            installation_id=installed[n % len(installed)],
                            contact="Load test contact",
                            contact_phone=None,
                            fault_reported_date=today,
                            nature_of_fault=f"Load test fault {n + 1}",
                            equipment_details=None,
                            maintenance=False,
                            notes="Opened by the load test setup.",
                        )
                        p.tickets.append(t.ref)
                    p.calls = callable_refs[planner_k::n_planners]
                    p.requests = request_refs[planner_k::n_planners]
                    p.skus = skus
                    p.rank = planner_k
                    planner_k += 1
                elif username == "procurement":
                    p.stock_zone = labels[(procurement_k * 3 + 1) % len(zones)]
                    p.requests = request_refs
                    p.skus = skus
                    p.rank = procurement_k
                    procurement_k += 1
                plans.append(p)
    finally:
        engine.dispose()
    return plans


def _installed_in_zone(session: Any, zone_id: uuid.UUID) -> list[uuid.UUID]:
    """Installed chargers (completed/report_submitted/closed) of a zone, newest first."""
    from sqlalchemy import select

    from domain.installations.models import Installation
    from domain.leads.models import Lead

    return list(
        session.scalars(
            select(Installation.id)
            .join(Lead, Lead.id == Installation.lead_id)
            .where(
                Lead.zone_id == zone_id,
                Installation.status.in_(("completed", "report_submitted", "closed")),
            )
            .order_by(Installation.completed_at.desc())
            .limit(20)
        )
    )


# --- Simulated users: Playwright async API, one browser, one context per user ----------------

IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
        && app.getAttribute('data-test-script-state') === 'notRunning';
}"""
RUN_COUNTER_JS = """(() => {
    window.__chargeopsRuns = 0;
    const hook = () => {
        const app = document.querySelector('[data-testid="stApp"]');
        if (!app) { setTimeout(hook, 50); return; }
        new MutationObserver((records) => {
            for (const r of records) if (r.oldValue === 'running') window.__chargeopsRuns++;
        }).observe(app, {
            attributes: true, attributeOldValue: true,
            attributeFilter: ['data-test-script-state'],
        });
    };
    hook();
})();"""
"""Installed in every page: counts the script runs that finished (``running`` -> other)."""


@dataclass
class Edit:
    """One edit made through the UI; ``text`` (typed into the page) holds the marker."""

    kind: str
    marker: str
    username: str
    target: str
    text: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    confirmed: bool = False
    ms: float | None = None


@dataclass
class Results:
    """What the users saw, shared by the tasks (one event loop: no locks needed)."""

    page_ms: dict[str, list[float]] = field(default_factory=dict)
    edit_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    actions: int = 0

    def error(self, user: str, action: str, kind: str, text: str) -> None:
        self.errors.append({"user": user, "action": action, "kind": kind, "text": text[:400]})
        log(f"ERROR {user} {action} {kind}: {text[:200]}")


class StopUser(Exception):
    """The user could not get back to a working page; it stops early."""


class SimUser:
    """One simulated user (a browser context): log in, then browse and edit until ``end``."""

    def __init__(
        self,
        plan: UserPlan,
        browser: Any,
        base: str,
        results: Results,
        artifacts: Path | None,
    ) -> None:
        self.plan = plan
        self.browser = browser
        self.base = base
        self.results = results
        self.stopped = False
        self.context: Any = None
        self.artifacts = artifacts
        self.rng = random.Random(1000 + plan.index)
        self.name = f"u{plan.index}:{plan.username}"
        self.page: Any = None
        self.current: str | None = None

    # -- helpers --------------------------------------------------------------------------------

    def widget(self, key: str) -> Any:
        return self.page.locator(f".st-key-{key}")

    async def wait_idle(self, timeout: float = ACTION_TIMEOUT_MS) -> None:
        await self.page.wait_for_function(IDLE_JS, timeout=timeout)

    async def runs(self) -> int:
        """Script runs finished in this page so far (counted by ``RUN_COUNTER_JS``)."""
        return int(await self.page.evaluate("() => window.__chargeopsRuns || 0"))

    async def settle(self, before: int) -> None:
        """After an action that reruns the script: wait until a run that started after
        ``before`` was read has finished (at most 20 s, then go on) and the app is idle.
        A fixed pause would be too short on a loaded machine and too long on an idle one."""
        from playwright.async_api import TimeoutError as PlaywrightTimeoutError

        with contextlib.suppress(PlaywrightTimeoutError):
            await self.page.wait_for_function(
                f"() => (window.__chargeopsRuns || 0) > {before}", timeout=20_000
            )
        await self.wait_idle()

    async def click(self, key: str, settle: bool = True) -> None:
        before = await self.runs()
        await self.widget(key).get_by_role("button").click()
        if settle:
            await self.settle(before)

    async def choose(self, key: str, option_start: str, in_form: bool = False) -> None:
        """Pick the option of selectbox ``key`` whose label starts with ``option_start``."""
        from playwright.async_api import expect

        box = self.widget(key).locator('input[role="combobox"]')
        wanted = re.compile("^" + re.escape(option_start))
        await expect(box).to_have_count(1)
        if wanted.match(await box.input_value()):
            return
        await box.click()
        await box.fill(option_start)
        before = await self.runs()
        await self.page.get_by_role("option").filter(has_text=wanted).first.click()
        await expect(box).to_have_value(wanted)
        if not in_form:
            await self.settle(before)

    async def success(self, text: str | re.Pattern[str]) -> str:
        """Wait for the success message and return its text."""
        alert = self.page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text=text)
        await alert.first.wait_for()
        return (await alert.first.inner_text()).strip()

    async def check_page(self, action: str) -> None:
        """Record any Streamlit exception box or ``st.error`` on the page."""
        for testid, kind in (("stException", "exception"), ("stAlertContentError", "st.error")):
            boxes = self.page.locator(f'[data-testid="{testid}"]')
            for i in range(await boxes.count()):
                with contextlib.suppress(Exception):
                    text = await boxes.nth(i).inner_text(timeout=5_000)
                    self.results.error(self.name, action, kind, text)

    def _on_response(self, response: Any) -> None:
        if response.status >= 500:
            self.results.error(self.name, "http", "http_5xx", f"{response.status} {response.url}")

    async def open_page(self, title: str) -> None:
        """Click ``title`` in the sidebar menu; time it until the page's heading is shown and
        the script is idle (``page_ms[title]``)."""
        from playwright.async_api import TimeoutError as PlaywrightTimeoutError

        nav = self.page.locator('[data-testid="stSidebarNav"]')
        link = nav.get_by_text(title, exact=True)
        await self.wait_idle()
        if not await link.is_visible():
            more = nav.get_by_test_id("stSidebarNavViewButton")
            if await more.count():
                await more.click()
        heading = self.page.get_by_role("heading", name=title, exact=True, level=1)
        started = time.perf_counter()
        await link.click()
        try:
            await heading.wait_for(timeout=30_000)
        except PlaywrightTimeoutError:  # a click swallowed by a rerun: click once more
            await self.wait_idle()
            await link.click()
            await heading.wait_for()
        await self.wait_idle()
        self.results.page_ms.setdefault(title, []).append((time.perf_counter() - started) * 1000)
        self.current = title

    async def goto(self, title: str) -> None:
        if self.current != title:
            await self.open_page(title)

    def _edit(self, kind: str, target: str, text: str | None, **detail: Any) -> Edit:
        marker = text.rsplit(" ", 1)[-1] if text else str(uuid.uuid4())
        e = Edit(kind, marker, self.plan.username, target, text, detail)
        self.results.edits.append(e)
        return e

    async def _confirm(self, e: Edit, started: float, message: str | re.Pattern[str]) -> str:
        shown = await self.success(message)
        e.ms = (time.perf_counter() - started) * 1000
        e.confirmed = True
        self.results.edit_ms.setdefault(e.kind, []).append(e.ms)
        await self.wait_idle()
        return shown

    # -- session --------------------------------------------------------------------------------

    async def login(self) -> None:
        await self.page.goto(self.base)
        await self.wait_idle()
        await self.page.get_by_label("Username", exact=True).fill(self.plan.username)
        await self.page.get_by_label("Password", exact=True).fill(self.plan.password)
        heading = self.page.get_by_role("heading", name=self.plan.landing, exact=True, level=1)
        started = time.perf_counter()
        await self.page.get_by_role("button", name=re.compile(r"log ?in", re.I)).click()
        await heading.wait_for()
        await self.wait_idle()
        self.results.page_ms.setdefault("login", []).append((time.perf_counter() - started) * 1000)
        self.current = self.plan.landing

    async def recover(self) -> None:
        """After a failed step: reload the app (the login cookie keeps the session)."""
        self.current = None
        for _ in range(2):
            try:
                await self.page.goto(self.base)
                await self.wait_idle()
                nav = self.page.locator('[data-testid="stSidebarNav"]')
                if not await nav.count():
                    await self.login()
                    return
                await self.page.get_by_role("heading", level=1).first.wait_for()
                self.current = await self.page.get_by_role("heading", level=1).first.inner_text()
                return
            except Exception:  # noqa: BLE001 - try once more, then give up
                await asyncio.sleep(2)
        raise StopUser(self.name)

    async def start(self) -> None:
        """Open the user's browser context and log in (before the timed window)."""
        self.context = await self.browser.new_context(viewport={"width": 1400, "height": 1000})
        await self.context.add_init_script(RUN_COUNTER_JS)
        self.page = await self.context.new_page()
        self.page.set_default_timeout(ACTION_TIMEOUT_MS)
        self.page.on("response", self._on_response)
        try:
            await self._step("login", self.login)
        except StopUser:
            self.results.error(self.name, "recover", "stopped", "could not reload the app")
            self.stopped = True

    async def run(self, end: float) -> None:
        """Browse and edit until ``end`` (monotonic), then close the context. Every user
        browses at least once (after ``end`` if its first edit took the whole window, as it
        can in a ``--quick`` run on a slow machine), so every user has a page time."""
        kinds = self.plan.edit_kinds
        edits = 0
        browsed = False
        try:
            while not self.stopped and (time.monotonic() < end or not browsed):
                # an editing user edits first, then with EDIT_SHARE; its kinds in turn, the
                # n-th user of a login starting at its n-th kind (so the first procurement
                # user's first edit is a stock count, even in a --quick run)
                in_window = time.monotonic() < end
                if in_window and kinds and (edits == 0 or self.rng.random() < EDIT_SHARE):
                    kind = kinds[(self.plan.rank + edits) % len(kinds)]
                    edits += 1
                    await self._step(kind, getattr(self, kind))
                else:
                    await self._step("browse", self.browse)
                    browsed = True
                await asyncio.sleep(self.rng.uniform(0.5, 2.0))
        except StopUser:
            self.results.error(self.name, "recover", "stopped", "could not reload the app")
        finally:
            with contextlib.suppress(Exception):
                await self.context.close()

    async def _step(self, action: str, fn: Any) -> None:
        self.results.actions += 1
        try:
            await fn()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is a reported error
            # The first lines hold Playwright's "waiting for <locator>"; the headings say
            # which page the browser was on.
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()][:3]
            with contextlib.suppress(Exception):
                shown = await self.page.get_by_role("heading", level=1).all_inner_texts()
                lines.append(f"h1 shown: {shown}")
            self.results.error(self.name, action, type(exc).__name__, " | ".join(lines))
            await self._evidence(action)
            await self.check_page(action)
            await self.recover()
            return
        await self.check_page(action)

    async def _evidence(self, action: str) -> None:
        if self.artifacts is None:
            return
        with contextlib.suppress(Exception):
            stem = self.artifacts / f"load-{self.plan.index}-{action}-{len(self.results.errors)}"
            await self.page.screenshot(path=f"{stem}.png", full_page=True)

    # -- actions --------------------------------------------------------------------------------

    async def browse(self) -> None:
        choices = [t for t in self.plan.titles if t != self.current]
        await self.open_page(self.rng.choice(choices))

    async def confirmation_call(self) -> None:
        """Planner: record a ``no_answer`` confirmation call whose notes hold the marker."""
        ref = self.rng.choice(self.plan.calls)
        await self.goto("Installations")
        await self.widget("inst_f_search").locator("input").fill(ref)
        await self.click("inst_f_submit")
        await self.choose("inst_detail_ref", ref)
        await self.page.get_by_role(
            "heading", name=re.compile("^" + re.escape(ref) + " · ")
        ).wait_for()
        await self.widget("inst_call_outcome").get_by_text("no_answer", exact=True).click()
        text = f"Load test call {uuid.uuid4()}"
        await self.widget("inst_call_notes").locator("input").fill(text)
        e = self._edit("confirmation_call", ref, text)
        started = time.perf_counter()
        await self.click("inst_call_submit", settle=False)
        await self._confirm(e, started, f"Call recorded for {ref}")

    async def ticket_note(self) -> None:
        """Planner: append a note (with the marker) to a live ticket of the planner's zone."""
        ref = self.rng.choice(self.plan.tickets)
        await self.goto("Service calls")
        assert self.plan.ticket_zone is not None
        await self.choose("svc_f_zone", self.plan.ticket_zone, in_form=True)
        await self.choose("svc_f_status", "open", in_form=True)
        await self.click("svc_f_submit")
        await self.choose("svc_detail_ref", ref)
        await self.page.get_by_role(
            "heading", name=re.compile("^" + re.escape(ref) + " · ")
        ).wait_for()
        area = self.widget("svc_up_notes").locator("textarea")
        if not await area.is_visible():
            await self.page.get_by_text("Update notes / equipment / nature of fault").click()
            await area.wait_for(state="visible")
        current = await area.input_value()
        text = f"Load test note {uuid.uuid4()}"
        await area.fill((current + "\n" if current else "") + text)
        e = self._edit("ticket_note", ref, text)
        started = time.perf_counter()
        await self.click("svc_up_submit", settle=False)
        await self._confirm(e, started, f"Ticket {ref} updated.")

    async def stock_grid(self, zone_code: str, not_key: str | None = None) -> tuple[Any, str]:
        """The Stock page's data editor once it shows a view of ``zone_code``: the page keys
        every view's grid ``stock_grid_<zone>_<token>`` (inside the ``stock_editor``
        container), so waiting for exactly one grid of the zone whose key is not ``not_key``
        (the grid seen before a zone switch or Reload) and reading its cells only then means
        the harness never reads or types into an earlier view's grid. Returns a locator of
        that one grid (by its full key) and the key."""
        handle = await self.page.wait_for_function(
            """([code, old]) => {
                const els = document.querySelectorAll(
                    '.st-key-stock_editor [class*="st-key-stock_grid_"]');
                if (els.length !== 1) return null;
                const k = [...els[0].classList].find(c => c.startsWith('st-key-stock_grid_'));
                return k && k.startsWith('st-key-stock_grid_' + code + '_') && k !== old
                    ? k : null;
            }""",
            arg=[zone_code, not_key and f"st-key-{not_key}"],
        )
        key = str(await handle.json_value()).removeprefix("st-key-")
        await self.wait_idle()
        return self.widget(key), key

    async def current_grid_key(self) -> str | None:
        """The key of the Stock page's grid shown now (None unless exactly one)."""
        keys = await self.page.evaluate(
            """() => [...document.querySelectorAll(
                '.st-key-stock_editor [class*="st-key-stock_grid_"]')].map(
                e => [...e.classList].find(c => c.startsWith('st-key-stock_grid_')))"""
        )
        return keys[0].removeprefix("st-key-") if len(keys) == 1 else None

    async def stock_count(self) -> None:
        """Procurement: set one Available count in the zone's grid, reason = marker.

        Precise by construction: after choosing the zone the page is reloaded (a fresh view,
        and no success message of an earlier save left on the page), the grid is the one
        keyed for this zone and this view (``stock_grid``), no success message is shown
        before Save, and the message must name exactly the edited SKU. ``verify`` then
        checks the ledger movement under the marker is on this zone's row of that SKU and
        that the count after it is the typed absolute value."""
        from playwright.async_api import expect

        assert self.plan.stock_zone is not None
        zone_code = self.plan.stock_zone.rsplit("(", 1)[1].rstrip(")")
        await self.goto("Stock")
        await self.choose("stock_zone", self.plan.stock_zone)
        seen = await self.current_grid_key()
        await self.click("stock_reload")
        editor, grid_key = await self.stock_grid(zone_code, not_key=seen)
        flash = self.page.locator('[data-testid="stAlertContentSuccess"]')
        await expect(flash).to_have_count(0)
        row = self.rng.randrange(4)
        sku = (await editor.get_by_test_id(f"glide-cell-0-{row}").inner_text()).strip()
        shown = await editor.get_by_test_id(f"glide-cell-4-{row}").inner_text()
        before = int(float(shown.strip().replace(",", "")))
        after = before + 1 if before < 1 or self.rng.random() < 0.5 else before - 1
        await self._edit_grid_cell(editor, row, 4, str(after))
        text = f"Load test count {uuid.uuid4()}"
        await self.widget("stock_reason").locator("input").fill(text)
        await expect(self.widget("stock_reason").locator("input")).to_have_value(text)
        e = self._edit(
            "stock_count",
            f"{self.plan.stock_zone} {sku}",
            text,
            zone=zone_code,
            sku=sku,
            before=before,
            after=after,
            grid=grid_key,
        )
        started = time.perf_counter()
        await self.click("stock_save", settle=False)
        saved = re.compile(r"^Saved 1 row\(s\): " + re.escape(sku) + "$")
        await self._confirm(e, started, saved)

    async def _edit_grid_cell(self, editor: Any, row: int, column: int, value: str) -> None:
        """Type ``value`` into a cell of the data editor (as the procurement journey test does):
        select the first body cell, walk with the arrow keys, Enter opens the cell's editor,
        fill, Enter. On a loaded machine a key press can land while the grid re-renders, so
        the walk is retried (Escape first) until the cell's editor opens."""
        from playwright.async_api import TimeoutError as PlaywrightTimeoutError
        from playwright.async_api import expect

        grid = editor.locator('[data-testid="stDataFrameResizable"]')
        first = editor.get_by_test_id("glide-cell-0-0")
        target = editor.get_by_test_id(f"glide-cell-{column}-{row}")
        cell_input = self.page.locator("input.gdg-input")
        for attempt in range(5):
            try:
                await self.wait_idle()
                await grid.click(position={"x": 30, "y": 35 + 17})  # header/rows are 35 px
                await expect(first).to_have_attribute("aria-selected", "true", timeout=5_000)
                for _ in range(column):
                    await self.page.keyboard.press("ArrowRight")
                for _ in range(row):
                    await self.page.keyboard.press("ArrowDown")
                await expect(target).to_have_attribute("aria-selected", "true", timeout=5_000)
                await self.page.keyboard.press("Enter")
                await cell_input.wait_for(timeout=10_000)
                break
            except (AssertionError, PlaywrightTimeoutError):
                if attempt == 4:
                    raise
                await self.page.keyboard.press("Escape")
        await cell_input.fill(value)
        await expect(cell_input).to_have_value(value)
        await cell_input.press("Enter")
        await expect(cell_input).to_have_count(0)
        await expect(target).to_have_text(value)

    async def procurement_request(self) -> None:
        """Planner / procurement: raise a request; the UI's ref is checked afterwards."""
        ref = self.rng.choice(self.plan.requests)
        sku = self.rng.choice(self.plan.skus)
        quantity = self.rng.randint(1, 9)
        cost = Decimal(f"{self.rng.randint(100, 9000)}.{self.rng.randint(0, 99):02d}")
        await self.goto("Procurement requests")
        await self.page.get_by_role("tab", name="New request").click()
        search = self.widget("pr_new_search").locator("input")
        await search.fill(ref)
        before = await self.runs()
        await search.press("Enter")
        await self.settle(before)
        await self.choose("pr_new_inst", ref + " · ")
        await self.choose("pr_new_mat", sku + " · ", in_form=True)
        await self.widget("pr_new_qty").locator("input").fill(str(quantity))
        await self.widget("pr_new_cost").locator("input").fill(str(cost))
        e = self._edit(
            "procurement_request",
            ref,
            None,
            sku=sku,
            quantity=quantity,
            estimated_cost=str(cost),
        )
        started = time.perf_counter()
        await self.click("pr_new_submit", settle=False)
        shown = await self._confirm(e, started, re.compile(r"^Request \S+ raised\.$"))
        e.detail["ref"] = shown.split()[1]


async def drive(
    plans: list[UserPlan], base: str, seconds: float, chromium: str, artifacts: Path | None
) -> tuple[Results, float]:
    """Log every user in (concurrently), then run them all for ``seconds`` in one Chromium;
    return the results and the measured duration of the timed window. Users still busy 150 s
    after the end are cancelled."""
    from playwright.async_api import async_playwright

    results = Results()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            users = [SimUser(plan, browser, base, results, artifacts) for plan in plans]
            await asyncio.wait_for(asyncio.gather(*(u.start() for u in users)), timeout=300)
            log(f"{len(users)} users logged in; {seconds:.0f} s of browsing and editing")
            started = time.monotonic()
            end = started + seconds
            tasks = [asyncio.create_task(u.run(end)) for u in users]
            done, pending = await asyncio.wait(tasks, timeout=seconds + 150)
            for t in pending:
                results.error("driver", "stop", "timeout", "user still busy 150 s after the end")
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=30)
            for t in done:
                if t.exception() is not None:
                    results.error("driver", "task", "crash", repr(t.exception()))
            elapsed = time.monotonic() - started
        finally:
            await browser.close()
    return results, elapsed


# --- Servers ---------------------------------------------------------------------------------


class Servers:
    """The sidecar and one Streamlit server as subprocesses (logs in ``workdir``)."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: dict[str, Path] = {}
        self.port = _free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "DATA_DIR": str(workdir / "data"),
            "DEMO_MODE": "true",
        }

    def _start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        path = self.workdir / f"{name}.log"
        self.logs[name] = path
        with open(path, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        return proc

    def start(self) -> str:
        self.sidecar = self._start("sidecar", ["-m", "scheduler"])
        self.app = self._start(
            "streamlit",
            [
                "-m",
                "streamlit",
                "run",
                "app/main.py",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
        )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.app.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return base
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("Streamlit did not start:\n" + self.tail("streamlit"))

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs.get(name)
        return path.read_text(errors="replace")[-chars:] if path and path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            started = time.monotonic()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            if time.monotonic() - started > 2:
                log(f"{proc.args[1:3]} took {time.monotonic() - started:.0f} s to stop")

    def tracebacks(self) -> dict[str, list[str]]:
        """The last line of every Python traceback in each log (the exception)."""
        found: dict[str, list[str]] = {}
        for name, path in self.logs.items():
            lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            out = []
            for i, line in enumerate(lines):
                if line.startswith("Traceback (most recent call last)"):
                    j = i + 1
                    while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
                        j += 1
                    out.append(lines[j] if j < len(lines) else line)
            found[name] = out
        return found


# --- Verification ----------------------------------------------------------------------------


def verify(url: str, edits: list[Edit]) -> dict[str, Any]:
    """Look up every edit in the database. ``found`` counts confirmed edits present;
    ``lost`` lists confirmed edits missing (lost writes); ``found_unconfirmed`` counts
    submitted edits whose success message was not seen but which are in the database."""
    from sqlalchemy import select, text

    from db import make_engine, session_scope
    from domain.accounts.models import AppUser, AuditEvent, Zone
    from domain.installations.models import Installation
    from domain.procurement.models import (
        Material,
        MaterialStock,
        ProcurementRequest,
        StockMovement,
    )
    from domain.service.models import ServiceTicket

    engine = make_engine(url)
    out: dict[str, Any] = {}
    try:
        with session_scope(engine, readonly=True) as s:
            call_notes = {
                (str(e.entity_id), str((e.after or {}).get("notes")))
                for e in s.scalars(
                    select(AuditEvent).where(AuditEvent.action == "installation.confirmation_call")
                )
            }
            inst_ids = dict(s.execute(select(Installation.ref, Installation.id)).all())
            notes = dict(s.execute(select(ServiceTicket.ref, ServiceTicket.notes)).all())
            moves: dict[str, list[tuple[str, str, int]]] = {}
            for reason, zone, sku, delta in s.execute(
                select(StockMovement.reason, Zone.code, Material.sku, StockMovement.quantity_delta)
                .join(MaterialStock, MaterialStock.id == StockMovement.material_stock_id)
                .join(Zone, Zone.id == MaterialStock.zone_id)
                .join(Material, Material.id == MaterialStock.material_id)
                .where(StockMovement.reason.like("Load test count %"))
            ):
                moves.setdefault(reason, []).append((zone, sku, delta))
            # the count each stock edit set, as the server recorded it (audit ``after``)
            counts: dict[str, tuple[Any, Any]] = {}
            for ev in s.scalars(select(AuditEvent).where(AuditEvent.action == "stock.adjust")):
                after = ev.after or {}
                reason = str(after.get("reason", ""))
                if reason.startswith("Load test count "):
                    before = (ev.before or {}).get("quantity_available")
                    counts[reason] = (before, after.get("quantity_available"))
            requests = {
                r.ref: (inst_ref, sku, r.quantity, r.estimated_cost, username)
                for r, inst_ref, sku, username in s.execute(
                    select(ProcurementRequest, Installation.ref, Material.sku, AppUser.username)
                    .join(Installation, Installation.id == ProcurementRequest.installation_id)
                    .join(Material, Material.id == ProcurementRequest.material_id)
                    .join(AppUser, AppUser.id == ProcurementRequest.requested_by_id)
                )
            }

            def present(e: Edit) -> bool:
                if e.kind == "confirmation_call":
                    return (str(inst_ids.get(e.target)), str(e.text)) in call_notes
                if e.kind == "ticket_note":
                    return str(e.text) in (notes.get(e.target) or "")
                if e.kind == "stock_count":
                    # one movement under the marker, on this zone's row of this SKU, and the
                    # count after it is the typed value (the delta is relative to what the
                    # server held, which the displayed value may not be)
                    text = str(e.text)
                    d = e.detail
                    rows = moves.get(text, [])
                    return (
                        len(rows) == 1
                        and rows[0][:2] == (d["zone"], d["sku"])
                        and counts.get(text, (None, None))[1] == d["after"]
                        and rows[0][2] == d["after"] - counts[text][0]
                    )
                wanted = (
                    e.target,
                    e.detail["sku"],
                    e.detail["quantity"],
                    Decimal(e.detail["estimated_cost"]),
                    e.username,
                )
                if "ref" in e.detail:
                    return requests.get(e.detail["ref"]) == wanted
                return wanted in requests.values()

            for e in edits:
                k = out.setdefault(
                    e.kind,
                    {
                        "attempted": 0,
                        "confirmed": 0,
                        "found": 0,
                        "found_unconfirmed": 0,
                        "lost": [],
                    },
                )
                k["attempted"] += 1
                hit = present(e)
                if e.confirmed:
                    k["confirmed"] += 1
                    k["found"] += hit
                    if not hit:
                        lost = {"marker": e.marker, "target": e.target, **e.detail}
                        if e.kind == "stock_count":
                            # for diagnosis: what the ledger and the audit hold under the marker
                            rows = moves.get(str(e.text), [])
                            lost["ledger_delta_with_marker"] = [r[2] for r in rows] or None
                            lost["ledger_rows_with_marker"] = [f"{z} {k}" for z, k, _ in rows]
                            lost["server_count_before_after"] = counts.get(str(e.text))
                        k["lost"].append(lost)
                elif hit:
                    k["found_unconfirmed"] += 1
            failed_jobs = s.execute(
                text("SELECT job_name, detail FROM job_run WHERE status = 'failed'")
            ).all()
            out = {"by_kind": out, "failed_jobs": [f"{n}: {d}"[:300] for n, d in failed_jobs]}
    finally:
        engine.dispose()
    return out


# --- Main ----------------------------------------------------------------------------------


def _pg_admin() -> Any:
    from db import make_engine

    return make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=False)


def _drop_database(name: str) -> None:
    from sqlalchemy import text

    admin = _pg_admin()
    try:
        with admin.connect() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


def run(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """The whole load test; returns the JSON document and the exit status."""
    from sqlalchemy import make_url, text

    doc: dict[str, Any] = {
        "benchmark": "load_test",
        "database": "postgresql",
        "users": args.users,
        "seconds": args.seconds,
        "scale": args.scale,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    chromium = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not chromium:
        doc["skipped"] = f"chromium not found at {CHROMIUM}"
        return doc, 0
    name = f"chargeops_load_{os.getpid()}"
    try:
        admin = _pg_admin()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - no server: say so in the JSON
        doc["skipped"] = f"PostgreSQL unreachable: {exc}"
        return doc, 0
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    workdir = Path(tempfile.mkdtemp(prefix="chargeops-load-"))
    servers = Servers(url, workdir)
    _CLEANUP.append(servers.stop)
    _CLEANUP.append(lambda: _drop_database(name))
    try:
        t0 = time.monotonic()
        env = {**servers.env}
        log(f"database {name}: migrate and seed (scale {args.scale})")
        for cmd in (["-m", "db.migrate", "upgrade"], ["-m", "db.seed", "--scale", str(args.scale)]):
            subprocess.run(
                [sys.executable, *cmd], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
            )
        plans = plan_users(url, args.users)
        doc["setup_s"] = round(time.monotonic() - t0, 1)
        doc["roles"] = [f"{p.username} ({p.role})" for p in plans]
        log("starting the sidecar and the app")
        base = servers.start()
        artifacts = Path(args.artifacts) if args.artifacts else None
        if artifacts:
            artifacts.mkdir(parents=True, exist_ok=True)
        log(f"{args.users} users for {args.seconds:.0f} s on {base}")
        results, elapsed = asyncio.run(drive(plans, base, args.seconds, chromium, artifacts))
        sidecar_alive = servers.sidecar.poll() is None
        app_alive = servers.app.poll() is None
        log("stopping the app and the sidecar")
        servers.stop()
        tracebacks = servers.tracebacks()
        log("checking the database")
        checked = verify(url, results.edits)
    finally:
        servers.stop()
        if not args.keep:
            _drop_database(name)
            shutil.rmtree(workdir, ignore_errors=True)
    errors = list(results.errors)
    for proc_name, tbs in tracebacks.items():
        errors += [
            {"user": proc_name, "action": "log", "kind": "traceback", "text": t} for t in tbs
        ]
    errors += [
        {"user": "sidecar", "action": "job_run", "kind": "failed", "text": t}
        for t in checked["failed_jobs"]
    ]
    if not sidecar_alive:
        errors.append({"user": "sidecar", "action": "run", "kind": "died", "text": "exited"})
    if not app_alive:
        errors.append({"user": "streamlit", "action": "run", "kind": "died", "text": "exited"})
    if not any(v for page, v in results.page_ms.items() if page != "login"):
        errors.append({"user": "driver", "action": "run", "kind": "idle", "text": "no page visit"})
    by_kind = checked["by_kind"]
    lost = [x for k in by_kind.values() for x in k["lost"]]
    all_pages = [ms for page, v in results.page_ms.items() if page != "login" for ms in v]
    doc.update(
        {
            "duration_s": round(elapsed, 1),
            "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
            "actions": results.actions,
            "page_times": {
                "overall": _stats(all_pages),
                "per_page": {k: _stats(v) for k, v in sorted(results.page_ms.items())},
                "definition": "ms from the menu click to the page's heading shown and the "
                "script idle; 'login' is submit to landing page idle (not in overall)",
            },
            "edit_times": {k: _stats(v) for k, v in sorted(results.edit_ms.items())},
            "edits": {
                "attempted": sum(k["attempted"] for k in by_kind.values()),
                "confirmed": sum(k["confirmed"] for k in by_kind.values()),
                "found": sum(k["found"] for k in by_kind.values()),
                "found_unconfirmed": sum(k["found_unconfirmed"] for k in by_kind.values()),
                "lost": len(lost),
                "by_kind": {k: {**v, "lost": len(v["lost"])} for k, v in sorted(by_kind.items())},
            },
            "lost_writes": lost[:20],
            "error_count": len(errors),
            "errors": errors[:30],
        }
    )
    ok = not errors and not lost
    doc["ok"] = ok
    return doc, 0 if ok else 1


_CLEANUP: list[Any] = []


def _watchdog(timeout: float) -> threading.Timer:
    """Kill the servers, drop the database and exit 1 when the run outlives ``timeout``."""

    def fire() -> None:
        log(f"hard timeout after {timeout:.0f} s: stopping")
        for fn in _CLEANUP:
            with contextlib.suppress(Exception):
                fn()
        print(json.dumps({"benchmark": "load_test", "ok": False, "error": "hard timeout"}))
        sys.stdout.flush()
        os._exit(1)

    timer = threading.Timer(timeout, fire)
    timer.daemon = True
    timer.start()
    return timer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=int, default=10, help="concurrent browser users (10)")
    p.add_argument("--seconds", type=float, default=180.0, help="duration of the load (180)")
    p.add_argument("--scale", type=float, default=0.3, help="demo data scale (0.3)")
    p.add_argument("--quick", action="store_true", help="3 users, 20 s, scale 0.1")
    p.add_argument("--timeout", type=float, default=None, help="hard limit (seconds + 420)")
    p.add_argument("--artifacts", default=str(ROOT / "test-artifacts"), help="failure screenshots")
    p.add_argument("--keep", action="store_true", help="keep the database and the logs")
    args = p.parse_args(argv)
    if args.quick:
        args.users, args.seconds, args.scale = 3, 20.0, 0.1
    timer = _watchdog(args.timeout or args.seconds + 420)
    try:
        doc, status = run(args)
    finally:
        timer.cancel()
    print(json.dumps(doc, indent=2, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main())
