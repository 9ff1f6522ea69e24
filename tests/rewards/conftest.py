"""Fixtures for the rewards tests (menu, coupons, stamp cards, points mall, lottery)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dinecard.platform.cli import app
from dinecard.platform.container import Container
from dinecard.platform.settings import get_settings
from tests.api.helpers import open_store
from tests.conftest import TEST_KEY

Invoke = Callable[..., Result]


@pytest.fixture
def store_id(client: TestClient) -> str:
    return open_store(client)


@pytest.fixture
def dinecard(container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """`dinecard(*args)` runs the command in-process against the test database, its clock pinned
    to the test clock; the containers it builds are disposed afterwards."""
    for name in [name for name in os.environ if name.startswith("DINECARD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DINECARD_DATABASE_URL", container.database.url)
    monkeypatch.setenv("DINECARD_DATA_KEY", TEST_KEY)
    monkeypatch.setenv("DINECARD_DATA_DIR", str(tmp_path / "cli-data"))
    built: list[Container] = []
    from_settings = Container.from_settings.__func__  # type: ignore[attr-defined]

    def tracking(cls: type[Container], settings: Any) -> Container:
        made = from_settings(cls, settings)
        built.append(made)
        return made

    monkeypatch.setattr(Container, "from_settings", classmethod(tracking))
    runner = CliRunner()

    def run(*args: str) -> Result:
        monkeypatch.setenv("DINECARD_NOW", container.clock.now().isoformat())
        get_settings.cache_clear()
        return runner.invoke(app, list(args))

    yield run
    get_settings.cache_clear()
    for made in built:
        made.database.dispose()
