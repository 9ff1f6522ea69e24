"""A chain at scale for the daily jobs: 1,000,000 members and 10,000,000 points lots in minutes.

    .venv/bin/python bench/bulk_members.py postgresql://postgres@127.0.0.1/dinecard_bench_bulk \\
        --members 1000000 --lots 10000000 --as-of 2026-12-01

Rows go straight into DineCard's tables with INSERT ... SELECT generate_series (the schema comes
from `dinecard db upgrade`), shaped as the product writes them: each member has the three ledger
accounts `open_member_accounts` makes (principal, bonus, points debt), and points lots named and
timed as `lot_account` names them under the default programme (end_of_month, 12 months: a lot
per month of activity, expiring at the first instant of a month in Asia/Shanghai). The secondary
indexes are dropped during the load and rebuilt from their saved definitions, then the tables
are vacuumed and analysed, as a long-running database would be.

The day measured (`--as-of`, the first of a month) is a heavy one for both jobs:
- expiry: member i holds lots in L of the 13 monthly slots (L = lots / members), skipping 13 - L
  consecutive slots starting at i mod 13; slot 0 expires on the run, so L/13 of all members
  (10/13 = 77 % by default) have a lot to expire: the month-end run of an active chain;
- review: `--above-share` of members (30 %) hold silver, gold or diamond, all with their level
  clock started exactly 3 months before the run (a chain whose members were imported on one day
  keeps its clocks aligned: a review moves each clock by exactly 3 months); `--kept-share` of
  them (50 %) consumed 600 yuan in the period (one checkout each) and keep the level, the others
  are lowered by one.

What it does not write: the journal history that earned the lots and the balances (the jobs
never read it), so `dinecard reconcile` does not pass on this database; phone numbers are a
fixed dummy ciphertext with a unique fake blind index (the jobs never decrypt them); card numbers
are unique but carry no valid check digit.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date

import psycopg

TIMEZONE = "Asia/Shanghai"
SLOTS = 13  # end_of_month with 12 months: lots of 13 different month-ends can be alive at once
MEMBER_ID = "'01BENCH' || lpad(i::text, 19, '0')"  # 26 characters of the ULID alphabet, ascending with i
TABLES = ("members", "ledger_accounts", "checkouts", "ledger_transactions")


@dataclass(frozen=True)
class BulkSpec:
    members: int = 1_000_000
    lots: int = 10_000_000
    as_of: date = date(2026, 12, 1)
    above_share: float = 0.30
    kept_share: float = 0.50

    @property
    def lots_per_member(self) -> int:
        return self.lots // self.members

    def check(self) -> None:
        if self.as_of.day != 1:
            raise ValueError("--as-of must be the first day of a month (the day lots expire)")
        if not 1 <= self.lots_per_member <= SLOTS:
            raise ValueError(f"lots per member must be 1 to {SLOTS} (one lot per month-end): {self.lots_per_member}")


def generate(url: str, spec: BulkSpec, say: Callable[[str], None] = print) -> dict[str, float]:
    """Fill a migrated, empty DineCard database at `url`; returns seconds per step."""
    spec.check()
    timings: dict[str, float] = {}
    with psycopg.connect(_plain(url), autocommit=True) as connection:
        connection.execute("SET session_replication_role = replica")  # no FK triggers: consistent by construction
        connection.execute("SET maintenance_work_mem = '1GB'")
        connection.execute("SET synchronous_commit = off")
        store_id = _store(connection)
        saved = _drop_secondary_indexes(connection)
        params = {
            "m": spec.members,
            "lpm": spec.lots_per_member,
            "gap": SLOTS - spec.lots_per_member,
            "above_pct": round(spec.above_share * 100),
            "kept_pct": round(spec.kept_share * 100),
            "as_of": f"{spec.as_of.isoformat()} 00:00:00",
            "tz": TIMEZONE,
            "store": store_id,
        }
        for name, statement in _STEPS:
            started = time.perf_counter()
            connection.execute(statement, params)
            timings[name] = time.perf_counter() - started
            say(f"  {name}: {timings[name]:.1f} s")
        started = time.perf_counter()
        for statement in saved:
            connection.execute(statement)
        timings["indexes"] = time.perf_counter() - started
        say(f"  indexes rebuilt: {timings['indexes']:.1f} s")
        started = time.perf_counter()
        for table in TABLES:
            connection.execute(f"VACUUM (ANALYZE) {table}")
        timings["vacuum_analyze"] = time.perf_counter() - started
        say(f"  vacuum analyze: {timings['vacuum_analyze']:.1f} s")
        database = connection.info.dbname
        comment = json.dumps({**asdict(spec), "as_of": spec.as_of.isoformat()}).replace("'", "")
        connection.execute(f"COMMENT ON DATABASE \"{database}\" IS 'dinecard bench bulk {comment}'")
    return timings


def spec_of_database(url: str) -> BulkSpec | None:
    """The spec a database was generated with (kept as its comment), or None."""
    with psycopg.connect(_plain(url), autocommit=True) as connection:
        row = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    text = row[0] if row else None
    if not text or not text.startswith("dinecard bench bulk "):
        return None
    values = json.loads(text[len("dinecard bench bulk ") :])
    return BulkSpec(**{**values, "as_of": date.fromisoformat(values["as_of"])})


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _store(connection: psycopg.Connection) -> str:
    store_id = "01BENCHSTORE00000000000001"
    connection.execute(
        "INSERT INTO stores (id, code, name, created_at) VALUES (%s, 'BULK', 'Bulk store', now())"
        " ON CONFLICT DO NOTHING",
        (store_id,),
    )
    return store_id


def _drop_secondary_indexes(connection: psycopg.Connection) -> list[str]:
    """Drop unique constraints and indexes (not primary keys) of the loaded tables; the statements that rebuild them."""
    rebuild: list[str] = []
    constraints = connection.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)",
        (list(TABLES),),
    ).fetchall()
    for table, name, definition in constraints:
        connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    indexes = connection.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        (list(TABLES),),
    ).fetchall()
    for name, definition in indexes:
        connection.execute(f"DROP INDEX {name}")
        rebuild.append(definition)
    return rebuild


_LOCAL_RUN = "(%(as_of)s::timestamp AT TIME ZONE %(tz)s)"  # the run date's first instant, as timestamptz
_ABOVE = "(i %% 100 < %(above_pct)s)"
# Knuth's multiplicative hash: which members keep their level, spread evenly at any scale.
_KEPT = "((i::bigint * 2654435761 %% 1000003) %% 100 < %(kept_pct)s)"
_LEVEL = f"CASE WHEN {_ABOVE} THEN (ARRAY['silver', 'gold', 'diamond'])[1 + i %% 100 %% 3] ELSE 'normal' END"
_RECHARGED = f"CASE WHEN {_ABOVE} THEN (ARRAY[50000, 100000, 200000])[1 + i %% 100 %% 3] ELSE 0 END"
_REGISTERED = f"({_LOCAL_RUN} - make_interval(days => 400 + i %% 400))"
_LEVEL_SINCE = f"CASE WHEN {_ABOVE} THEN ((%(as_of)s::timestamp - interval '3 months') AT TIME ZONE %(tz)s)" + (
    f" ELSE {_REGISTERED} END"
)
_PROFILE = '{"taste_preferences": [], "allergies": [], "favourite_dishes": [], "tags": []}'

_MEMBERS = f"""
INSERT INTO members (
    id, card_no, phone_ciphertext, phone_index, name, birthday, gender, store_id, referrer_id, referral_code,
    status, level_code, cumulative_recharge_fen, cumulative_consume_fen, points_lifetime, level_since,
    level_recharge_offset_fen, level_consume_offset_fen, level_floor_code, first_recharge_at, checkout_count,
    last_consumed_at, registered_at, updated_at, profile, code_secret)
SELECT {MEMBER_ID}, '8' || lpad(i::text, 10, '0') || '0',
    'v1:bench000:QkVOQ0hCRU5DSEJFTkNIQkVOQ0hCRU5DSEJFTkNI',
    encode(sha256(convert_to('bench phone ' || i, 'UTF8')), 'hex'),
    NULL, CASE WHEN i %% 5 < 3 THEN date '1990-01-01' + (i %% 365) END, NULL, %(store)s, NULL,
    'B' || lpad(upper(to_hex(i)), 7, '0'),
    'active', {_LEVEL}, {_RECHARGED}, CASE WHEN i %% 3 = 0 THEN 15000 ELSE 0 END, %(lpm)s * 250,
    {_LEVEL_SINCE}, 0, 0, NULL, CASE WHEN {_ABOVE} THEN {_REGISTERED} + interval '1 day' END,
    CASE WHEN i %% 3 = 0 THEN 1 ELSE 0 END, NULL, {_REGISTERED}, {_REGISTERED}, '{_PROFILE}',
    'BENCHBENCHBENCHBENCHBENCHBENCHBE'
FROM generate_series(1, %(m)s::int) AS i
"""

_SINGLE_ACCOUNTS = f"""
INSERT INTO ledger_accounts (code, kind, unit, member_id, store_id, expires_at, balance, created_at)
SELECT 'm:' || {MEMBER_ID} || ':' || k.kind, k.kind, k.unit, {MEMBER_ID}, NULL, NULL,
    CASE WHEN k.kind = 'member_principal' AND {_ABOVE} THEN (i::bigint * 7919) %% 100000
         WHEN k.kind = 'member_bonus' AND {_ABOVE} THEN (i::bigint * 104729) %% 20000 ELSE 0 END,
    {_REGISTERED}
FROM generate_series(1, %(m)s::int) AS i,
    (VALUES ('member_principal', 'fen'), ('member_bonus', 'fen'), ('member_points_debt', 'points')) AS k(kind, unit)
"""

_SLOT_EXPIRY = "((%(as_of)s::timestamp + make_interval(months => slot)) AT TIME ZONE %(tz)s)"
_LOTS = f"""
INSERT INTO ledger_accounts (code, kind, unit, member_id, store_id, expires_at, balance, created_at)
SELECT 'm:' || {MEMBER_ID} || ':member_points_lot:'
        || to_char({_SLOT_EXPIRY} AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS'),
    'member_points_lot', 'points', {MEMBER_ID}, NULL, {_SLOT_EXPIRY}, 50 + (i * 31 + slot * 17) %% 451,
    {_SLOT_EXPIRY} - interval '13 months' + make_interval(days => (i %% 28))
FROM generate_series(1, %(m)s::int) AS i,
    LATERAL (SELECT ((i %% 13) + %(gap)s + k) %% 13 AS slot FROM generate_series(0, %(lpm)s::int - 1) AS k) AS s
"""

_CHECKOUT_AT = f"({_LOCAL_RUN} - interval '30 days')"
_KEPT_CHECKOUTS = f"""
WITH tx AS (
    INSERT INTO ledger_transactions (kind, member_id, store_id, order_no, program_version, created_at, memo)
    SELECT 'checkout', {MEMBER_ID}, %(store)s, 'CB' || lpad(i::text, 24, '0'), 0, {_CHECKOUT_AT}, NULL
    FROM generate_series(1, %(m)s::int) AS i
    WHERE {_ABOVE} AND {_KEPT}
    RETURNING id, member_id, order_no, created_at
)
INSERT INTO checkouts (
    order_no, member_id, store_id, bill_total_fen, discount_fen, points_used, points_deduction_fen, payable_fen,
    paid_principal_fen, paid_bonus_fen, other_tender_fen, other_tender_method, points_earned, level_code, items,
    discounts, coupon_discount_fen, coupons, coupons_returned, refunded_principal_fen, refunded_bonus_fen,
    refunded_other_fen, points_earned_reversed, points_used_restored, program_version, journal_transaction_id,
    created_at)
SELECT order_no, member_id, %(store)s, 60000, 0, 0, 0, 60000, 60000, 0, 0, NULL, 600, 'silver', NULL, NULL, 0, NULL,
    false, 0, 0, 0, 0, 0, 0, id, created_at
FROM tx
"""

_STEPS = (
    ("members", _MEMBERS),
    ("member accounts", _SINGLE_ACCOUNTS),
    ("points lots", _LOTS),
    ("checkouts of members who keep their level", _KEPT_CHECKOUTS),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="a migrated, empty DineCard database on PostgreSQL (dinecard db upgrade)")
    parser.add_argument("--members", type=int, default=BulkSpec.members)
    parser.add_argument("--lots", type=int, default=BulkSpec.lots)
    parser.add_argument("--as-of", type=date.fromisoformat, default=BulkSpec.as_of)
    parser.add_argument("--above-share", type=float, default=BulkSpec.above_share)
    parser.add_argument("--kept-share", type=float, default=BulkSpec.kept_share)
    args = parser.parse_args()
    spec = BulkSpec(args.members, args.lots, args.as_of, args.above_share, args.kept_share)
    started = time.perf_counter()
    generate(args.url, spec)
    lots = spec.members * spec.lots_per_member
    print(f"{spec.members:,} members and {lots:,} lots in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
