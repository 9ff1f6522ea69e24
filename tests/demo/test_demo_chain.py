"""The demo chain the quick start loads: every area has data, the books balance, and the demo
logins open the till and the console."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dinecard.coupons.models import Coupon
from dinecard.demo.generator import DemoSpec, generate, has_demo_data
from dinecard.demo.staff import DEMO_PASSWORD, ensure_demo_logins
from dinecard.ledger.reconcile import run_reconciliation
from dinecard.lottery.models import Draw
from dinecard.platform.container import Container
from dinecard.security.models import Staff
from dinecard.wallet.models import Checkout
from tests.api.helpers import API


def test_the_demo_chain_has_every_area_and_reconciles(container: Container) -> None:
    summary = generate(container, DemoSpec(members=60, stores=2, days=30, end=container.clock.now()))

    assert has_demo_data(container)
    with container.database.read() as session:
        checkouts = session.execute(select(func.count()).select_from(Checkout)).scalar_one()
        used = session.execute(select(func.count()).select_from(Coupon).where(Coupon.status == "used")).scalar_one()
        draws = session.execute(select(func.count()).select_from(Draw)).scalar_one()
        report = run_reconciliation(session, container.clock.now())
    assert checkouts > 100 and used > 0 and draws > 0, summary
    assert report.ok, report.summary


def test_the_demo_logins_are_made_once_and_log_in(container: Container, client: TestClient) -> None:
    generate(container, DemoSpec(members=5, stores=1, days=3, end=container.clock.now()))

    first = ensure_demo_logins(container)
    ensure_demo_logins(container)

    with container.database.read() as session:
        usernames = sorted(session.execute(select(Staff.username)).scalars())
    assert usernames == sorted(login.username for login in first) == ["cashier", "hq", "manager"]
    response = client.post(f"{API}/auth/login", json={"username": "cashier", "password": DEMO_PASSWORD})
    assert response.status_code == 200 and response.json()["staff"]["role"] == "cashier"
