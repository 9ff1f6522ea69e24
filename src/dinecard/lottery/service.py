"""Lotteries: HQ's prize tables, a member's draw paid with points, and the audit of every draw (R-CPN-4).

A draw runs under the member's lock (members.service.lock_member), so the daily limit and the
points are checked and spent once per draw. Prize stock is shared by every member, so it is not
locked up front: each prize is claimed with one conditional UPDATE. Of concurrent draws on the
last unit exactly one UPDATE changes the row; the others find it gone and pick again from the
same random stream. The draw stores its seed, its candidates and the prizes it found gone, which
is all `domain.replay` needs to recompute it.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import CouponKind
from dinecard.coupons.models import Coupon
from dinecard.ledger import service as ledger
from dinecard.ledger.domain import EntryReason
from dinecard.lottery.domain import (
    DrawOutcome,
    PrizeKind,
    PrizeSpec,
    PrizeTable,
    is_running,
    replay,
    run_draw,
    table_problems,
    window_problems,
)
from dinecard.lottery.models import Draw, Lottery, Prize
from dinecard.members.domain import ensure_can_spend
from dinecard.members.service import lock_member
from dinecard.menu.service import dishes_by_id
from dinecard.platform.db import UnitOfWork
from dinecard.points import service as points
from dinecard.points.domain import usable_points
from dinecard.program.domain import Program
from dinecard.rewards import history
from dinecard.shared import errors
from dinecard.shared.calendar import end_of_day, local_date, start_of_day
from dinecard.shared.errors import DomainError
from dinecard.shared.ids import new_order_no
from dinecard.shared.money import Money
from dinecard.wallet.common import require_store

log = logging.getLogger(__name__)

JOURNAL_KIND = "lottery_draw"
# A coupon prize whose template cannot give this member a coupon now counts as gone for this draw.
_COUPON_REFUSALS = {
    errors.COUPON_TEMPLATE_NOT_FOUND.code,
    errors.COUPON_TEMPLATE_INACTIVE.code,
    errors.COUPON_OUT_OF_STOCK.code,
    errors.COUPON_MEMBER_LIMIT.code,
}


@dataclass(frozen=True)
class LotteryFields:
    name: str
    name_en: str | None
    cost_points: int
    daily_limit: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool


PATCHABLE = frozenset(LotteryFields.__dataclass_fields__)


# ---------------------------------------------------------------- HQ: lotteries and prize tables


def create_lottery(
    uow: UnitOfWork, lottery_id: str, fields: LotteryFields, prizes: list[PrizeSpec], now: datetime
) -> Lottery:
    session = uow.session
    if session.get(Lottery, lottery_id) is not None:
        raise DomainError(errors.LOTTERY_TAKEN, {"lottery_id": lottery_id})
    _validate(session, fields, prizes)
    lottery = Lottery(id=lottery_id, created_at=now, updated_at=now, **fields.__dict__)
    session.add(lottery)
    session.flush()
    session.add_all(_new_prize(lottery_id, position, prize) for position, prize in enumerate(prizes))
    session.flush()
    return lottery


def update_lottery(uow: UnitOfWork, lottery_id: str, changes: dict[str, Any], now: datetime) -> Lottery:
    """Names, cost, daily limit, window, active: only the fields given change."""
    assert set(changes) <= PATCHABLE, changes
    lottery = _locked_lottery(uow, lottery_id)
    merged = LotteryFields(**({name: getattr(lottery, name) for name in PATCHABLE} | changes))
    table = PrizeTable(tuple(_spec(row) for row in prize_rows(uow.session, lottery_id)), merged.cost_points)
    _validate(uow.session, merged, list(table.prizes))
    for name, value in changes.items():
        setattr(lottery, name, value)
    lottery.updated_at = now
    return lottery


def replace_prizes(uow: UnitOfWork, lottery_id: str, prizes: list[PrizeSpec], now: datetime) -> Lottery:
    """A new prize table. A prize whose code stays keeps its count of prizes given (its stock
    cannot go below it); a prize left out is removed (past draws keep its code and name)."""
    session = uow.session
    lottery = _locked_lottery(uow, lottery_id)
    # Locked, so a draw claiming one of them commits first and its claim is counted here.
    current = {row.code: row for row in prize_rows(session, lottery_id, lock=True)}
    kept = [replace(prize, given=current[prize.code].given) if prize.code in current else prize for prize in prizes]
    _validate(session, _fields_of(lottery), kept)
    codes = {prize.code for prize in kept}
    for code, row in current.items():
        if code not in codes:
            session.delete(row)
    session.flush()
    for position, prize in enumerate(kept):
        if prize.code not in current:
            session.add(_new_prize(lottery_id, position, prize))
            continue
        row = current[prize.code]
        row.name, row.kind, row.weight, row.stock = prize.name, prize.kind.value, prize.weight, prize.stock
        row.coupon_template_code, row.points, row.position = prize.coupon_template_code, prize.points, position
    lottery.updated_at = now
    session.flush()
    return lottery


def get_lottery(session: Session, lottery_id: str) -> Lottery:
    lottery = session.get(Lottery, lottery_id)
    if lottery is None:
        raise DomainError(errors.LOTTERY_NOT_FOUND, {"lottery_id": lottery_id})
    return lottery


def list_lotteries(session: Session) -> list[Lottery]:
    return list(session.execute(select(Lottery).order_by(Lottery.created_at, Lottery.id)).scalars())


def prize_rows(session: Session, lottery_id: str, lock: bool = False) -> list[Prize]:
    query = select(Prize).where(Prize.lottery_id == lottery_id).order_by(Prize.position, Prize.id)
    if lock:
        query = query.with_for_update()
    return list(session.execute(query.execution_options(populate_existing=True)).scalars())


def prize_table(session: Session, lottery: Lottery) -> PrizeTable:
    """The table as it stands, with each coupon prize's value where it is known (for the cost estimate)."""
    rows = prize_rows(session, lottery.id)
    values = _coupon_values(session, {row.coupon_template_code for row in rows if row.coupon_template_code})
    specs = [replace(_spec(row), coupon_value=values.get(row.coupon_template_code or "")) for row in rows]
    return PrizeTable(tuple(specs), lottery.cost_points)


def _coupon_values(session: Session, template_codes: set[str]) -> dict[str, Money]:
    """A template's face value; a dish voucher without a cap is worth its dearest dish."""
    values: dict[str, Money] = {}
    for code, template in coupons.templates_by_code(session, template_codes).items():
        rules = coupons.template_rules(template)
        value = rules.face_value()
        if value is None and rules.kind is CouponKind.DISH and rules.dish_ids:
            prices = [dish.price for dish in dishes_by_id(session, rules.dish_ids).values()]
            value = max(prices, key=lambda money: money.fen) if prices else None
        if value is not None:
            values[code] = value
    return values


def _validate(session: Session, fields: LotteryFields, prizes: list[PrizeSpec]) -> None:
    problems = table_problems(PrizeTable(tuple(prizes), fields.cost_points))
    problems += window_problems(fields.starts_at, fields.ends_at)
    if fields.daily_limit is not None and fields.daily_limit < 1:
        problems.append({"loc": ["daily_limit"], "type": "value_error", "message": "at least 1 draw a day"})
    if problems:
        raise errors.invalid(*[(problem["loc"], problem["message"]) for problem in problems])
    templates = {prize.coupon_template_code for prize in prizes if prize.coupon_template_code}
    missing = coupons.missing_templates(session, templates)
    if missing:
        raise DomainError(errors.COUPON_TEMPLATE_NOT_FOUND, {"template_code": missing[0]})


def _locked_lottery(uow: UnitOfWork, lottery_id: str) -> Lottery:
    lottery = uow.session.get(Lottery, lottery_id, with_for_update=True, populate_existing=True)
    if lottery is None:
        raise DomainError(errors.LOTTERY_NOT_FOUND, {"lottery_id": lottery_id})
    return lottery


def _fields_of(lottery: Lottery) -> LotteryFields:
    return LotteryFields(**{name: getattr(lottery, name) for name in PATCHABLE})


def _spec(row: Prize) -> PrizeSpec:
    return PrizeSpec(
        code=row.code,
        name=row.name,
        kind=PrizeKind(row.kind),
        weight=row.weight,
        stock=row.stock,
        given=row.given,
        points=row.points,
        coupon_template_code=row.coupon_template_code,
    )


def _new_prize(lottery_id: str, position: int, prize: PrizeSpec) -> Prize:
    return Prize(
        lottery_id=lottery_id,
        code=prize.code,
        name=prize.name,
        kind=prize.kind.value,
        weight=prize.weight,
        stock=prize.stock,
        given=prize.given,
        coupon_template_code=prize.coupon_template_code,
        points=prize.points,
        position=position,
    )


# ---------------------------------------------------------------- a member draws


def new_seed() -> str:
    """128 random bits from the operating system: nobody can predict or steer a draw."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class DrawCommand:
    member_id: str
    lottery_id: str
    store_id: str


@dataclass(frozen=True)
class DrawResult:
    draw: Draw
    points_after: int  # usable, right after the draw


def draw(uow: UnitOfWork, program: Program, command: DrawCommand, now: datetime) -> DrawResult:
    """Spend the lottery's cost and give one prize, in one transaction; a refusal changes nothing."""
    session = uow.session
    member = lock_member(uow, command.member_id)
    ensure_can_spend(member.status, True)
    require_store(uow, command.store_id)
    lottery = session.get(Lottery, command.lottery_id, populate_existing=True)
    if lottery is None:
        raise DomainError(errors.LOTTERY_NOT_FOUND, {"lottery_id": command.lottery_id})
    if not is_running(lottery.active, lottery.starts_at, lottery.ends_at, now):
        raise DomainError(errors.LOTTERY_CLOSED, {"lottery_id": lottery.id})
    _check_daily_limit(session, program, lottery, member.id, now)
    accounts = ledger.load_member_accounts(session, member.id)
    usable = usable_points(accounts.lots, accounts.debt, now)
    if usable < lottery.cost_points:
        raise DomainError(errors.INSUFFICIENT_POINTS, {"usable": max(usable, 0), "needed": lottery.cost_points})

    rows = {row.code: row for row in prize_rows(session, lottery.id) if _spec(row).available}
    if not rows:
        raise DomainError(errors.LOTTERY_NO_PRIZES, {"lottery_id": lottery.id})
    draw_no = new_order_no("L")
    seed = new_seed()
    issued: dict[str, Coupon] = {}

    def claim(code: str) -> bool:
        row = rows[code]
        if row.kind != PrizeKind.COUPON.value:
            return _claim_stock(uow, row.id)
        coupon = _claim_coupon(uow, program, row, member.id, draw_no, now)
        if coupon is not None:
            issued[code] = coupon
        return coupon is not None

    outcome = run_draw(seed, [(row.code, row.weight) for row in rows.values()], claim)
    if outcome.prize_code is None:
        raise DomainError(errors.LOTTERY_NO_PRIZES, {"lottery_id": lottery.id})
    prize = rows[outcome.prize_code]
    won = prize.points if prize.kind == PrizeKind.POINTS.value else 0
    store = command.store_id
    entries = points.spend(uow, accounts, lottery.cost_points, now, store, reason=EntryReason.LOTTERY_DRAW)
    entries += points.award(uow, program, accounts, member.id, won, now, EntryReason.LOTTERY_PRIZE, store)
    member.points_lifetime += won  # reconciliation matches lifetime points with points issued
    member.updated_at = now
    transaction_id = ledger.record(
        uow,
        kind=JOURNAL_KIND,
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=store,
        order_no=draw_no,
        program_version=program.version,
    )
    coupon = issued.get(prize.code)
    row = Draw(
        draw_no=draw_no,
        lottery_id=lottery.id,
        member_id=member.id,
        store_id=store,
        cost_points=lottery.cost_points,
        seed=seed,
        # Names and kinds too, so the record reads on its own after the table changes.
        candidates=[{"code": r.code, "weight": r.weight, "name": r.name, "kind": r.kind} for r in rows.values()],
        exhausted=list(outcome.exhausted),
        prize_code=prize.code,
        prize_kind=prize.kind,
        coupon_code=coupon.code if coupon else None,
        points_won=won,
        journal_transaction_id=transaction_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    history.record(
        uow,
        member.id,
        "lottery_draw",
        draw_no,
        now,
        lottery_id=lottery.id,
        cost_points=lottery.cost_points,
        prize_code=prize.code,
        prize_name=prize.name,
        prize_kind=prize.kind,
        coupon_code=row.coupon_code,
        points_won=won,
    )
    return DrawResult(row, usable_points(accounts.lots, accounts.debt, now))


def _check_daily_limit(session: Session, program: Program, lottery: Lottery, member_id: str, now: datetime) -> None:
    if lottery.daily_limit is None:
        return
    day = local_date(now, program.business_timezone)
    tz = program.business_timezone
    drawn = session.execute(
        select(func.count())
        .select_from(Draw)
        .where(
            Draw.member_id == member_id,
            Draw.lottery_id == lottery.id,
            Draw.created_at >= start_of_day(day, tz),
            Draw.created_at < end_of_day(day, tz),
        )
    ).scalar_one()
    if drawn >= lottery.daily_limit:
        raise DomainError(
            errors.LOTTERY_DAILY_LIMIT,
            {
                "lottery_id": lottery.id,
                "limit": lottery.daily_limit,
                "business_date": day.isoformat(),
                # A 429 says when to come back: the next business day.
                "retry_after": max(1, int((end_of_day(day, tz) - now).total_seconds())),
            },
        )


def _claim_stock(uow: UnitOfWork, prize_id: int) -> bool:
    """One unit of a prize, if any is left: the WHERE re-checks the stock on the row as committed."""
    claimed = uow.session.execute(
        update(Prize)
        .where(Prize.id == prize_id, or_(Prize.stock.is_(None), Prize.given < Prize.stock))
        .values(given=Prize.given + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def _claim_coupon(
    uow: UnitOfWork, program: Program, row: Prize, member_id: str, draw_no: str, now: datetime
) -> Coupon | None:
    """The prize's unit and its coupon together; if the template cannot give one (stopped, out of
    coupons, the member's limit), the unit is put back and the prize counts as gone for this draw."""
    assert row.coupon_template_code is not None
    try:
        with uow.session.begin_nested():
            if not _claim_stock(uow, row.id):
                return None
            source = coupons.Source.LOTTERY
            return coupons.issue(uow, program, member_id, row.coupon_template_code, now, source, draw_no)[0]
    except DomainError as refused:
        if refused.code not in _COUPON_REFUSALS:
            raise
        log.warning("lottery coupon prize not given", extra={"prize": row.code, "reason": refused.code})
        return None


# ---------------------------------------------------------------- reading draws


def get_draw(session: Session, draw_no: str) -> Draw:
    row = session.execute(select(Draw).where(Draw.draw_no == draw_no)).scalar_one_or_none()
    if row is None:
        raise DomainError(errors.DRAW_NOT_FOUND, {"draw_no": draw_no})
    return row


def member_draws(session: Session, member_id: str, before: int | None, limit: int) -> list[Draw]:
    """Newest first; `before` is the cursor (the last id of the previous page)."""
    query = select(Draw).where(Draw.member_id == member_id)
    if before is not None:
        query = query.where(Draw.id < before)
    return list(session.execute(query.order_by(Draw.id.desc()).limit(limit)).scalars())


def replay_draw(row: Draw) -> DrawOutcome:
    return replay(row.seed, [(c["code"], int(c["weight"])) for c in row.candidates], row.exhausted)


def replay_matches(row: Draw, outcome: DrawOutcome) -> bool:
    """The recorded prize and the prizes recorded as gone are exactly what the replay finds."""
    return outcome.prize_code == row.prize_code and list(outcome.exhausted) == list(row.exhausted)
