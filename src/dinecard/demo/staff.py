"""Demo staff logins, so the quick start opens on a till anyone can try (demo data only)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.security.models import Staff
from dinecard.security.staff import create_staff
from dinecard.stores.models import Store

# A demo chain on a laptop, never a real one: `dinecard quickstart` prints these.
DEMO_PASSWORD = "dinecard-demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    store_code: str | None


DEMO_LOGINS = (
    DemoLogin("cashier", Role.CASHIER, "S001"),
    DemoLogin("manager", Role.STORE_MANAGER, "S001"),
    DemoLogin("hq", Role.HQ_ADMIN, None),
)
DISPLAY_NAMES = {"cashier": "收银员小王", "manager": "店长老李", "hq": "总部运营"}


def ensure_demo_logins(container: Container) -> list[DemoLogin]:
    """Create the demo logins that are missing (a chain's first store is S001)."""
    now = container.clock.now()
    with container.database.write() as uow:
        existing = set(uow.session.execute(select(Staff.username)).scalars())
        stores = {code: store_id for code, store_id in uow.session.execute(select(Store.code, Store.id))}
        for login in DEMO_LOGINS:
            if login.username in existing or (login.store_code and login.store_code not in stores):
                continue
            create_staff(
                uow,
                username=login.username,
                password=DEMO_PASSWORD,
                role=login.role,
                store_id=stores[login.store_code] if login.store_code else None,
                display_name=DISPLAY_NAMES[login.username],
                now=now,
            )
    return list(DEMO_LOGINS)
