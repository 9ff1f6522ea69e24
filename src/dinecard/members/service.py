"""Member use cases: register, find, read, change status and profile."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from dinecard.ledger import service as ledger
from dinecard.members.domain import (
    MemberStatus,
    ensure_open,
    mask_phone,
    member_code,
    member_code_is_fresh,
    normalize_phone,
    split_member_code,
)
from dinecard.members.models import Member
from dinecard.platform.db import UnitOfWork
from dinecard.points.domain import usable_points
from dinecard.program.domain import LevelRule, Program
from dinecard.security.crypto import PersonalDataCipher
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.ids import new_card_no, new_ulid
from dinecard.shared.money import Money
from dinecard.stores.models import Store

PHONE = "phone"
EMPTY_PROFILE: dict[str, Any] = {"taste_preferences": [], "allergies": [], "favourite_dishes": [], "tags": []}


@dataclass(frozen=True)
class RegisterMember:
    phone: str
    name: str | None = None
    birthday: date | None = None
    gender: str | None = None
    store_id: str | None = None
    referral_code: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberView:
    """What staff and the POS see of a member, with balances as of now (R-PAY-5)."""

    id: str
    card_no: str
    phone_masked: str
    name: str | None
    status: str
    level: LevelRule
    principal: Money
    bonus: Money
    pending_bonus: Money
    points_usable: int
    points_lifetime: int
    cumulative_recharge: Money
    cumulative_consume: Money
    birthday: date | None
    gender: str | None
    store_id: str | None
    referral_code: str
    registered_at: datetime
    profile: dict[str, Any]

    @property
    def balance_total(self) -> Money:
        return self.principal + self.bonus


def _new_referral_code() -> str:
    return base64.b32encode(os.urandom(5)).decode()[:8]


def _unused_card_no(session: Session) -> str:
    # Ten random digits: a clash is rare; checking first keeps it from failing the insert.
    for _ in range(10):
        card_no = new_card_no()
        if session.execute(select(Member.id).where(Member.card_no == card_no)).first() is None:
            return card_no
    raise AssertionError("could not find an unused card number in 10 tries")


def register_member(
    uow: UnitOfWork, cipher: PersonalDataCipher, program: Program, command: RegisterMember, now: datetime
) -> str:
    phone = normalize_phone(command.phone)
    phone_index = cipher.blind_index(phone, PHONE)
    session = uow.session
    if session.execute(select(Member.id).where(Member.phone_index.in_(cipher.blind_indexes(phone, PHONE)))).first():
        raise DomainError(errors.PHONE_TAKEN)
    if command.store_id is not None and session.get(Store, command.store_id) is None:
        raise DomainError(errors.STORE_NOT_FOUND)
    referrer_id = None
    if command.referral_code:
        referrer_id = session.execute(
            select(Member.id).where(Member.referral_code == command.referral_code.strip().upper())
        ).scalar_one_or_none()
        if referrer_id is None:
            raise DomainError(errors.REFERRAL_CODE_UNKNOWN)
    member = Member(
        id=new_ulid(),
        card_no=_unused_card_no(session),
        phone_ciphertext=cipher.encrypt(phone, PHONE),
        phone_index=phone_index,
        name=command.name,
        birthday=command.birthday,
        gender=command.gender,
        store_id=command.store_id,
        referrer_id=referrer_id,
        referral_code=_new_referral_code(),
        status=MemberStatus.ACTIVE.value,
        level_code=program.entry_level.code,
        level_since=now,
        level_recharge_offset_fen=0,
        level_consume_offset_fen=0,
        cumulative_recharge_fen=0,
        cumulative_consume_fen=0,
        points_lifetime=0,
        checkout_count=0,
        registered_at=now,
        updated_at=now,
        profile=command.profile,
        code_secret=base64.b32encode(os.urandom(20)).decode(),
    )
    session.add(member)
    session.flush()
    ledger.open_member_accounts(uow, member.id, now)
    return member.id


def find_member_id(
    session: Session,
    cipher: PersonalDataCipher,
    now: datetime,
    *,
    phone: str | None = None,
    card_no: str | None = None,
    member_code: str | None = None,
) -> str:
    """Find a member by exactly one of phone, card number or the rotating member code."""
    if sum(key is not None for key in (phone, card_no, member_code)) != 1:
        raise DomainError(errors.LOOKUP_NEEDS_ONE_KEY)
    condition: ColumnElement[bool]
    if phone is not None:
        condition = Member.phone_index.in_(cipher.blind_indexes(normalize_phone(phone), PHONE))
    elif card_no is not None:
        condition = Member.card_no == card_no.strip()
    else:
        return _find_by_member_code(session, member_code or "", now)
    member_id = session.execute(select(Member.id).where(condition)).scalar_one_or_none()
    if member_id is None:
        raise DomainError(errors.MEMBER_NOT_FOUND)
    return member_id


def _find_by_member_code(session: Session, code: str, now: datetime) -> str:
    parts = split_member_code(code)
    if parts is None:
        raise DomainError(errors.MEMBER_NOT_FOUND)
    card_no, one_time_part = parts
    row = session.execute(select(Member.id, Member.code_secret).where(Member.card_no == card_no)).first()
    if row is None:
        raise DomainError(errors.MEMBER_NOT_FOUND)
    if not member_code_is_fresh(one_time_part, row.code_secret, now):
        raise DomainError(errors.MEMBER_CODE_EXPIRED)
    return str(row.id)


def current_member_code(session: Session, member_id: str, now: datetime) -> tuple[str, datetime]:
    row = session.execute(select(Member.card_no, Member.code_secret).where(Member.id == member_id)).first()
    if row is None:
        raise DomainError(errors.MEMBER_NOT_FOUND)
    return member_code(row.card_no, row.code_secret, now)


# Members this transaction holds the lock of, by id (in the session's info, so it ends with the
# session; a strong reference, as the session's identity map keeps objects only weakly).
LOCKED_MEMBERS = "members_locked"
MEMBERS_TABLE = cast(Table, Member.__table__)


def lock_member(uow: UnitOfWork, member_id: str) -> Member:
    """Load a member for a change, holding the lock that serializes all of their operations."""
    member = lock_member_if_exists(uow, member_id)
    if member is None:
        raise DomainError(errors.MEMBER_NOT_FOUND)
    return member


# Built once: every write about a member starts with it (SQLite renders no FOR UPDATE: BEGIN IMMEDIATE locks).
LOCK_MEMBER = (
    select(Member)
    .where(Member.id == bindparam("member_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


# The SET clause comes from the parameters of each execution (write_locked_member_columns).
UPDATE_MEMBER = update(MEMBERS_TABLE).where(MEMBERS_TABLE.c.id == bindparam("b_member_id"))


def set_locked_member_columns(member: Member, values: dict[str, Any]) -> None:
    """Put new column values on a locked member's object as if loaded: the ORM will not write them.

    With `write_locked_member_columns` this replaces the unit-of-work flush of the busiest write
    (a checkout): one UPDATE built once instead of the ORM's change tracking and flush.
    """
    for name, value in values.items():
        set_committed_value(member, name, value)


def write_locked_member_columns(uow: UnitOfWork, member_id: str, values: dict[str, Any]) -> None:
    """Write the values put with `set_locked_member_columns` (the caller holds the member's lock)."""
    uow.execute(UPDATE_MEMBER, {"b_member_id": member_id, **values})


def lock_member_if_exists(uow: UnitOfWork, member_id: str) -> Member | None:
    """`lock_member`, or None when there is no such member.

    The first call in a transaction reads the row under its lock; later calls return the
    same object without a query: nobody else can change the row while the lock is held,
    and this transaction's own changes are on the object.
    """
    locked: dict[str, Member] = uow.session.info.setdefault(LOCKED_MEMBERS, {})
    held = locked.get(member_id)
    if held is not None:
        return held
    member = uow.session.execute(LOCK_MEMBER, {"member_id": member_id}).scalar_one_or_none()
    if member is not None:
        locked[member_id] = member
    return member


def member_view(
    session: Session, cipher: PersonalDataCipher, program: Program, member_id: str, now: datetime
) -> MemberView:
    member = session.get(Member, member_id)
    if member is None:
        raise DomainError(errors.MEMBER_NOT_FOUND)
    accounts = ledger.load_member_accounts(session, member_id)
    return MemberView(
        id=member.id,
        card_no=member.card_no,
        phone_masked=mask_phone(cipher.decrypt(member.phone_ciphertext, PHONE)),
        name=member.name,
        status=member.status,
        level=program.level(member.level_code),
        principal=Money(accounts.principal),
        bonus=Money(accounts.bonus),
        pending_bonus=Money(accounts.pending_bonus),
        points_usable=usable_points(accounts.lots, accounts.debt, now),
        points_lifetime=member.points_lifetime,
        cumulative_recharge=Money(member.cumulative_recharge_fen),
        cumulative_consume=Money(member.cumulative_consume_fen),
        birthday=member.birthday,
        gender=member.gender,
        store_id=member.store_id,
        referral_code=member.referral_code,
        registered_at=member.registered_at,
        profile={**EMPTY_PROFILE, **(member.profile or {})},
    )


def change_status(uow: UnitOfWork, member_id: str, status: MemberStatus, now: datetime) -> None:
    """Freeze or unfreeze a card; closing goes through the wallet, which refunds the balance."""
    assert status in (MemberStatus.ACTIVE, MemberStatus.FROZEN)
    member = lock_member(uow, member_id)
    ensure_open(member.status)
    if member.status == status:
        raise DomainError(errors.MEMBER_ALREADY_IN_STATE)
    member.status = status.value
    member.updated_at = now


def update_profile(uow: UnitOfWork, member_id: str, changes: dict[str, Any], now: datetime) -> None:
    member = lock_member(uow, member_id)
    ensure_open(member.status)
    for attribute in ("name", "birthday", "gender"):
        if attribute in changes:
            setattr(member, attribute, changes.pop(attribute))
    if changes:
        cleared = {key: (value if value is not None else []) for key, value in changes.items()}
        member.profile = {**(member.profile or {}), **cleared}
    member.updated_at = now
