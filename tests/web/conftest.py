"""Browser tests: the app served on a free port (on SQLite and on PostgreSQL) and Debian's
Chromium driven headless by Playwright. Without Chromium they skip with the reason shown; in CI
(CI=true) they fail instead, as .ci/run installs it."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from dinecard.platform.api import create_app
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.security.staff import create_staff
from dinecard.stores.service import create_store
from tests.conftest import IN_CI

CHROMIUM = os.environ.get("DINECARD_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get("DINECARD_SCREENSHOTS", Path(__file__).resolve().parents[2] / "artifacts" / "screenshots")
)
PASSWORD = "till password 1"


def _chromium_missing() -> str | None:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _chromium_missing()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI needs the browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield launched
        launched.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_server(container: Container) -> Iterator[str]:
    """The app on a free port in a thread, on the test's database and clock."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Keep a picture of a key screen (CI keeps the folder; the README shows a few)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def staff_login(container: Container, role: Role, username: str, store_id: str | None = None) -> str:
    """A staff account (with a store for store roles); returns its store id."""
    with container.database.write() as uow:
        if role is not Role.HQ_ADMIN and store_id is None:
            store_id = create_store(uow, f"W{username[-6:]}", "人民广场店", container.clock.now()).id
        create_staff(
            uow,
            username=username,
            password=PASSWORD,
            role=role,
            store_id=store_id,
            display_name=username,
            now=container.clock.now(),
        )
    return store_id or ""


def log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
