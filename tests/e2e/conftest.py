"""Real-browser fixtures: a seeded SQLite database, a Streamlit server, Debian's Chromium.

Chromium is Debian's package at /usr/bin/chromium (no browser downloads). Locally the e2e
tests are skipped when it is missing; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = ROOT / "test-artifacts"
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        if IN_CI:
            pytest.fail("Debian chromium is required in CI (apt-get install chromium)")
        pytest.skip("chromium not installed")
    return CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))


@pytest.fixture(scope="session")
def e2e_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, seeded (small demo scale) SQLite database for the browser tests."""
    db = tmp_path_factory.mktemp("e2e") / "chargeops.db"
    url = f"sqlite:///{db}"
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "db.migrate", "upgrade"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "-m", "db.seed", "--scale", "0.1"], cwd=ROOT, env=env, check=True
    )
    return url


@pytest.fixture(scope="session")
def e2e_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's ``DATA_DIR`` (media, PDFs); a test playing the sidecar writes there too."""
    return tmp_path_factory.mktemp("e2e-data")


@pytest.fixture(scope="session")
def app_url(e2e_database: str, e2e_data_dir: Path) -> Iterator[str]:
    """Base URL of a Streamlit server running ``app/main.py`` on a free loopback port."""
    port = _free_port()
    data_dir = e2e_data_dir
    env = {
        **os.environ,
        "DATABASE_URL": e2e_database,
        "DATA_DIR": str(data_dir),
        "DEMO_MODE": "true",
    }
    log = open(data_dir / "streamlit.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/main.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        log.close()
        raise RuntimeError((data_dir / "streamlit.log").read_text()[-3000:])
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each browser journey ONE rerun, and only after a Playwright timeout.

    The journeys drive a real Streamlit server on a 2-CPU machine shared with the rest of
    the suite; a click that a rerun swallowed, or a page slower than the timeout, fails them
    once in a while without anything being wrong with the app. This is Playwright Test's own
    CI default (``retries``). Any other failure (an assertion about data, an app exception) is
    NOT rerun, and every rerun is listed in the summary (``R``/``rerun``) with the evidence
    of the first attempt printed (``page`` fixture)."""
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=["TimeoutError"]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    """Keep each phase's report on the item so ``page`` can save evidence of a failure."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def page(chromium_path: str, app_url: str, e2e_data_dir: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A fresh Playwright page in headless Debian Chromium (new profile per test).

    On failure a screenshot and the page's text are saved under ``test-artifacts/``.
    """
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        console: list[str] = []
        pg.on("console", lambda m: console.append(f"{m.type}: {m.text}"[:300]))
        pg.on(
            "websocket", lambda ws: ws.on("close", lambda _ws: console.append("websocket closed"))
        )
        try:
            yield pg
        finally:
            rep = getattr(request.node, "rep_call", None)
            if rep is not None and rep.failed:
                stem = ARTIFACTS / f"FAILED-{request.node.name}"
                pg.screenshot(path=f"{stem}.png", full_page=True)
                body = pg.locator("body").inner_text()
                (stem.with_suffix(".txt")).write_text(body)
                # CI keeps only its output, not test-artifacts/: the evidence goes into the
                # failure report (shown for reruns too, ``--rerun-show-tracebacks``).
                evidence = _failure_evidence(pg, body, console, e2e_data_dir)
                if hasattr(rep.longrepr, "addsection"):
                    rep.longrepr.addsection("e2e failure evidence", evidence)
                else:
                    print(evidence)
            context.close()
            browser.close()


def _failure_evidence(pg, body: str, console: list[str], data_dir: Path) -> str:  # type: ignore[no-untyped-def]
    """What the browser showed when a journey failed: URL, app state, headings, the page's
    text, the browser console and the end of the Streamlit server's log."""
    state = pg.evaluate(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app ? [app.getAttribute('data-test-connection-state'),
                          app.getAttribute('data-test-script-state')] : null;
        }"""
    )
    headings = pg.get_by_role("heading", level=1).all_inner_texts()
    log = data_dir / "streamlit.log"
    server_log = log.read_text(errors="replace").splitlines()[-40:] if log.exists() else []
    return "\n".join(
        [
            "=== e2e failure evidence",
            f"url: {pg.url}",
            f"app (connection, script) state: {state}",
            f"h1 headings: {headings}",
            "--- page text (first 1500 chars)",
            body[:1500],
            "--- browser console (last 20)",
            *console[-20:],
            "--- streamlit server log (last 40 lines)",
            *server_log,
        ]
    )


def wait_idle(page, timeout: float = 60_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until the app is connected and its script is not running (no lost clicks)."""
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
                && app.getAttribute('data-test-script-state') === 'notRunning';
        }""",
        timeout=timeout,
    )


def login(page, app_url: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Open the app, wait until it is ready, and submit the login form."""
    page.goto(app_url)
    wait_idle(page)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name=re.compile(r"log ?in", re.I)).click()


# --- shared journey steps -----------------------------------------------------------------

DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS", "") == "1"
DOCS_VIEWPORT = {"width": 1280, "height": 800}


def demo_user(*, role: str | None = None, username: str | None = None):  # type: ignore[no-untyped-def]
    """The first demo login (``db.reference.DEMO_USERS``) with this role or username."""
    from db.reference import DEMO_USERS

    return next(
        u
        for u in DEMO_USERS
        if (role is None or u.role == role) and (username is None or u.username == username)
    )


@contextlib.contextmanager
def db_session(database_url: str, *, readonly: bool = False) -> Iterator[Any]:
    """A ``session_scope`` on the e2e database from the test process (own engine, disposed)."""
    from db import make_engine, session_scope

    engine = make_engine(database_url)
    try:
        with session_scope(engine, readonly=readonly) as s:
            yield s
    finally:
        engine.dispose()


def widget(page, key: str):  # type: ignore[no-untyped-def]
    """The element container Streamlit gives a widget with ``key`` (class ``st-key-<key>``)."""
    return page.locator(f".st-key-{key}")


def settle(page) -> None:  # type: ignore[no-untyped-def]
    """After an action that reruns the script: give the rerun a moment to start, then wait
    until it has finished (``wait_idle`` alone could see the idle state before the rerun)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    with contextlib.suppress(PlaywrightTimeoutError):  # the rerun may be over already
        page.wait_for_function(
            """() => document.querySelector('[data-testid="stApp"]')
                ?.getAttribute('data-test-script-state') === 'running'""",
            timeout=1_500,
        )
    wait_idle(page)


def open_page(page, title: str) -> None:  # type: ignore[no-untyped-def]
    """Open ``title`` from the sidebar menu once the current page has finished loading; the
    click is repeated if a still-running rerun swallowed it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.wait_for(timeout=60_000)
    settle(page)
    heading = page.get_by_role("heading", name=title, exact=True, level=1)
    link = nav.get_by_text(title, exact=True)
    more = nav.get_by_text(re.compile(r"^View \d+ more$"))
    if link.count() == 0 and more.count() > 0:  # a long menu is folded after ten entries
        more.click()
    for _ in range(3):
        link.click()
        with contextlib.suppress(PlaywrightTimeoutError):
            heading.wait_for(timeout=20_000)
            break
        settle(page)
    heading.wait_for()
    settle(page)


def open_tab(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Select the tab ``name`` and wait until it is the selected one."""
    from playwright.sync_api import expect

    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def choose(page, key: str, option_text: str, *, then_settle: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Type into the selectbox ``key`` to filter it and click the option starting with the
    text (Streamlit's selectbox is a combobox whose options are ``[role="option"]``)."""
    from playwright.sync_api import expect

    box = widget(page, key).locator('input[role="combobox"]')
    wanted = re.compile("^" + re.escape(option_text))
    expect(box).to_have_count(1)  # a re-rendering selectbox is briefly in the DOM twice
    if wanted.match(box.input_value()):
        return  # already selected (typing the same text would not open the list)
    click_single(page, box)
    box.fill(option_text)
    page.get_by_role("option").filter(has_text=wanted).first.click()
    expect(box).to_have_value(wanted)
    if then_settle:
        settle(page)


def click_single(page, locator, attempts: int = 3) -> None:  # type: ignore[no-untyped-def]
    """Click ``locator`` once it matches exactly one element.

    While Streamlit reruns a script, the previous render of a widget (its old tab panel, its
    old form) can stay in the DOM beside the new one until the run ends, and on a slow machine
    the rerun can start later than ``settle`` waits for it. So: wait until the app is idle and
    the locator matches one element, click; a strict-mode violation (two matches appeared in
    between; Playwright raises it before clicking anything, so nothing was clicked) waits and
    tries again, at most ``attempts`` times."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    for attempt in range(1, attempts + 1):
        wait_idle(page)
        expect(locator).to_have_count(1, timeout=30_000)
        try:
            locator.click()
            return
        except PlaywrightError as exc:
            if "strict mode violation" not in str(exc) or attempt == attempts:
                raise


def single_text(page, selector: str, label: str, timeout: float = 30_000) -> str:  # type: ignore[no-untyped-def]
    """The text of THE element matching CSS ``selector`` whose text contains ``label``, read
    while the app is idle and exactly one such element is in the DOM.

    A rerun can start later than ``settle`` waits for it; while it runs, the previous
    render of an element (a metric, say) stays in the DOM beside the new one. Checking "idle"
    and "exactly one" in the same browser-side poll reads neither a half-done rerun nor a
    stale copy. Raises ``AssertionError`` listing what was there when it timed out."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    js = """([sel, label]) => {
        const app = document.querySelector('[data-testid="stApp"]');
        if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED'
            || app.getAttribute('data-test-script-state') !== 'notRunning') return null;
        const els = [...document.querySelectorAll(sel)].filter(e => e.innerText.includes(label));
        return els.length === 1 ? els[0].innerText : null;
    }"""
    try:
        return str(page.wait_for_function(js, arg=[selector, label], timeout=timeout).json_value())
    except PlaywrightTimeoutError:
        found = page.evaluate(
            """([sel, label]) => [...document.querySelectorAll(sel)]
                .filter(e => e.innerText.includes(label)).map(e => e.innerText)""",
            [selector, label],
        )
        raise AssertionError(f"not exactly one idle {selector} with {label!r}: {found}") from None


def click(page, key: str, *, then_settle: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Click the button of widget ``key`` (``click_single``) and wait for the rerun it
    starts."""
    click_single(page, widget(page, key).get_by_role("button"))
    if then_settle:
        settle(page)


def flash(page, text: str | re.Pattern[str]) -> None:  # type: ignore[no-untyped-def]
    """Wait for a message box (success, info, warning, error) holding ``text``."""
    page.locator('[data-testid="stAlert"]').filter(has_text=text).first.wait_for()


def fill(page, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Type ``value`` into the text input or text area of widget ``key``."""
    widget(page, key).locator("input, textarea").first.fill(value)


def jpeg(path: Path, colour: str = "teal", size: tuple[int, int] = (640, 480)) -> Path:
    """Write a real JPEG (Pillow) of one colour with a darker band, and return its path."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, colour)
    ImageDraw.Draw(img).rectangle((0, size[1] // 3, size[0], size[1] // 2), fill="black")
    img.save(path, "JPEG", quality=85)
    return path


def snapshot(page, name: str, *, tour: str | None = None) -> Path:  # type: ignore[no-untyped-def]
    """Keep the page's final state: ``test-artifacts/<name>.png`` (full page).

    With ``UPDATE_SCREENSHOTS=1`` and ``tour`` set, also write the README's picture
    ``docs/screenshots/<tour>.png``: the 1280x800 viewport at the top of the page, reduced to
    a 256-colour palette PNG (small, tracked in git). CI leaves the tracked files alone.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    if UPDATE_SCREENSHOTS and tour:
        from PIL import Image

        size = page.viewport_size
        page.set_viewport_size(DOCS_VIEWPORT)
        page.wait_for_timeout(800)  # charts and grids re-lay themselves out
        settle(page)
        page.evaluate("""() => document.querySelector('[data-testid="stMain"]')?.scrollTo(0, 0)""")
        page.mouse.move(0, 0)  # no hover effects or tooltips in the picture
        page.wait_for_timeout(300)
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = DOCS_SCREENSHOTS / f"{tour}.png"
        raw = ARTIFACTS / f"tour-{tour}.raw.png"
        page.screenshot(path=str(raw))
        with Image.open(raw) as img:
            img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
                target, "PNG", optimize=True
            )
        raw.unlink()
        if size:
            page.set_viewport_size(size)
    return out


def set_date(page, key: str, day: date) -> None:  # type: ignore[no-untyped-def]
    """Type ``day`` into the date input ``key`` (segments YYYY/MM/DD, as shown) and leave the
    field by clicking the page title, which commits the value (a rerun outside a form)."""
    from playwright.sync_api import expect

    field = widget(page, key)
    field.get_by_role("spinbutton").first.click()
    page.keyboard.type(day.strftime("%Y%m%d"))
    page.keyboard.press("Escape")  # close the calendar pop-over
    page.get_by_role("heading", level=1).first.click()  # leave the field: commit
    expect(field.locator('input[type="date"]')).to_have_value(day.isoformat())
