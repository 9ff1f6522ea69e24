"""Operations done through the services, for the risk and alert tests (no API limits, any clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dinecard.members.service import RegisterMember, register_member
from dinecard.platform.container import Container
from dinecard.security.models import AuditEntry
from dinecard.shared.money import Money
from dinecard.wallet import service as wallet

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock moment in the business time zone, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def new_member(container: Container, phone: str) -> str:
    with container.database.write() as uow:
        return register_member(
            uow, container.cipher, container.program, RegisterMember(phone=phone), container.clock.now()
        )


def recharge(container: Container, member_id: str, store_id: str, fen: int) -> wallet.RechargeResult:
    command = wallet.RechargeCommand(member_id, store_id, Money(fen), wallet.PaymentMethod.WECHAT)
    with container.database.write() as uow:
        return wallet.recharge(uow, container.program, command, container.clock.now())


def checkout(container: Container, member_id: str, store_id: str, fen: int) -> wallet.CheckoutResult:
    """A bill paid by another tender (the member needs no balance)."""
    command = wallet.CheckoutCommand(member_id, store_id, Money(fen), pay_with_balance=False)
    with container.database.write() as uow:
        return wallet.checkout(uow, container.program, command, container.clock.now())


def refund(container: Container, order_no: str, fen: int | None = None, actor_id: str | None = None) -> str:
    """Refund an order; with `actor_id`, audit it as the API does (the risk rules read the actor there)."""
    now = container.clock.now()
    with container.database.write() as uow:
        result = wallet.refund(uow, container.program, order_no, None if fen is None else Money(fen), now)
        if actor_id is not None:
            uow.session.add(
                AuditEntry(
                    occurred_at=now,
                    actor_kind="api_key",
                    actor_id=actor_id,
                    action="POST /api/v1/orders/{order_no}/refunds",
                    order_no=result.order_no,
                )
            )
    return result.order_no
