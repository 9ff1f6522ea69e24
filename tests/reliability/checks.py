"""What must hold after a load, crashes or not: the journal of what the tills were told against the database.

`verify` returns a list of problems (empty: all good) and the figures it computed, so the tests can also
prove that it finds a deliberately lost update (see test_load_and_crash.py, the verifier's canary).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, text

from tests.reliability.load import Journal

ORDER_KINDS = {
    "recharge": "recharges",
    "checkout": "checkouts",
    "checkout_refund": "refunds",
    "recharge_refund": "refunds",
}
# The audit action of each acknowledged order (one audit entry per write, written in its transaction).
AUDIT_ACTIONS = {
    "recharges": "POST /api/v1/members/{member_id}/recharges",
    "checkouts": "POST /api/v1/members/{member_id}/checkouts",
    "refunds": "POST /api/v1/orders/{order_no}/refunds",
}


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.problems.append(message)

    def same(self, name: str, database: Any, journal: Any) -> None:
        """Database and journal must agree exactly; on a mismatch, name a few of the differences."""
        if database == journal:
            return
        if isinstance(database, dict) and isinstance(journal, dict):
            only_db = sorted(set(database) - set(journal))[:3]
            only_journal = sorted(set(journal) - set(database))[:3]
            differ = [
                (k, database[k], journal[k]) for k in sorted(set(database) & set(journal)) if database[k] != journal[k]
            ]
            self.problems.append(
                f"{name}: {len(database)} in the database, {len(journal)} acknowledged; only in the database "
                f"{only_db}, only acknowledged {only_journal}, different {differ[:3]}"
            )
        else:
            self.problems.append(f"{name}: database {database!r}, journal {journal!r}")


def _rows(connection: Any, sql: str) -> list[Any]:
    return list(connection.execute(text(sql)).all())


def verify(database_url: str, journal: Journal) -> Verdict:
    """Every acknowledged operation exactly once, nothing else, nothing half-applied, and every fen accounted for."""
    verdict = Verdict()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            _orders_match_the_journal(connection, journal, verdict)
            _nothing_half_applied(connection, journal, verdict)
            _money_and_points_add_up(connection, journal, verdict)
    finally:
        engine.dispose()
    return verdict


# ---------------------------------------------------------------- 1. exactly once


def _orders_match_the_journal(connection: Any, journal: Journal, verdict: Verdict) -> None:
    members = {row[0] for row in _rows(connection, "SELECT id FROM members")}
    verdict.same("members", {m: True for m in members}, {m: True for m in journal.members})

    recharges = {
        row[0]: {"member_id": row[1], "amount": row[2], "bonus_now": row[3] - row[4], "points": row[5]}
        for row in _rows(
            connection,
            "SELECT order_no, member_id, amount_fen, bonus_fen, bonus_pending_fen, points_awarded FROM recharges",
        )
    }
    verdict.same("recharges", recharges, journal.recharges)

    checkouts = {
        row[0]: {
            "member_id": row[1],
            "payable": row[2],
            "principal": row[3],
            "bonus": row[4],
            "other": row[5],
            "points_used": row[6],
            "points_earned": row[7],
            "coupon_discount": row[8],
        }
        for row in _rows(
            connection,
            "SELECT order_no, member_id, payable_fen, paid_principal_fen, paid_bonus_fen, other_tender_fen, "
            "points_used, points_earned, coupon_discount_fen FROM checkouts",
        )
    }
    fields = ("member_id", "payable", "principal", "bonus", "other", "points_used", "points_earned", "coupon_discount")
    acknowledged = {order: {k: record[k] for k in fields} for order, record in journal.checkouts.items()}
    verdict.same("checkouts", checkouts, acknowledged)

    refunds = {
        row[0]: {
            "original": row[1],
            "kind": row[2],
            "amount": row[3],
            "principal": row[4],
            "bonus": row[5],
            "other": row[6],
            "bonus_forfeited": row[7],
            "points_taken_back": row[8],
            "points_restored": row[9],
        }
        for row in _rows(
            connection,
            "SELECT order_no, original_order_no, kind, amount_fen, principal_fen, bonus_fen, other_tender_fen, "
            "bonus_forfeited_fen, points_taken_back, points_restored FROM refunds",
        )
    }
    verdict.same("refunds", refunds, journal.refunds)

    # Coupons: each one issued exactly once, and used on exactly the checkout the journal says (or usable again).
    coupons = {row[0]: row[1] for row in _rows(connection, "SELECT code, used_order_no FROM coupons")}
    verdict.same("coupons (code -> checkout it is used on)", coupons, journal.coupons)

    verdict.figures["database_rows"] = {
        "members": len(members),
        "recharges": len(recharges),
        "checkouts": len(checkouts),
        "refunds": len(refunds),
        "coupons": len(coupons),
    }


# ---------------------------------------------------------------- 2. nothing half-applied


def _nothing_half_applied(connection: Any, journal: Journal, verdict: Verdict) -> None:
    # Every business record points at a journal transaction of its own order, and every order-bearing
    # transaction has exactly one business record.
    for kind, table in ORDER_KINDS.items():
        kind_filter = f" AND b.kind = '{kind}'" if table == "refunds" else ""
        broken = _rows(
            connection,
            f"SELECT b.order_no FROM {table} b LEFT JOIN ledger_transactions t ON t.id = b.journal_transaction_id "
            f"WHERE (t.id IS NULL OR t.order_no <> b.order_no OR t.kind <> '{kind}'){kind_filter}",
        )
        verdict.expect(not broken, f"{table} without their own {kind} transaction: {broken[:3]}")
        orphans = _rows(
            connection,
            f"SELECT t.order_no, COUNT(b.id) FROM ledger_transactions t LEFT JOIN {table} b "
            f"ON b.journal_transaction_id = t.id WHERE t.kind = '{kind}' GROUP BY t.id, t.order_no "
            "HAVING COUNT(b.id) <> 1",
        )
        verdict.expect(not orphans, f"{kind} transactions without exactly one {table} row: {orphans[:3]}")

    # Every transaction has postings that balance per unit (reconcile checks it too; cheap to repeat).
    unbalanced = _rows(
        connection,
        "SELECT transaction_id, unit, SUM(amount) FROM ledger_postings GROUP BY transaction_id, unit "
        "HAVING SUM(amount) <> 0",
    )
    verdict.expect(not unbalanced, f"unbalanced transactions: {unbalanced[:3]}")
    empty = _rows(
        connection,
        "SELECT t.id FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id "
        "WHERE p.id IS NULL",
    )
    verdict.expect(not empty, f"transactions without postings: {empty[:3]}")

    # Idempotency: every claim committed is completed (claim and answer share the transaction), and the
    # stored keys are exactly the acknowledged ones: a refused or unanswered request stored nothing.
    open_claims = _rows(connection, "SELECT scope, key FROM idempotency_records WHERE status_code IS NULL")
    verdict.expect(not open_claims, f"idempotency claims without an answer: {open_claims[:3]}")
    stored = {(row[0], row[1]) for row in _rows(connection, "SELECT scope, key FROM idempotency_records")}
    verdict.same("idempotency keys", {k: True for k in stored}, {k: True for k in journal.idempotency})

    # Audit: one entry per acknowledged order, written by the same transaction.
    audited: Counter[str] = Counter()
    for table, action in AUDIT_ACTIONS.items():
        rows = _rows(connection, f"SELECT order_no FROM audit_log WHERE action = '{action}' AND order_no IS NOT NULL")
        audited.update(row[0] for row in rows)
        expected = getattr(journal, table)
        verdict.expect(
            {row[0] for row in rows} == set(expected) and len(rows) == len(expected),
            f"audit entries of {table}: {len(rows)} for {len(expected)} acknowledged orders",
        )
    twice = [order for order, times in audited.items() if times > 1]
    verdict.expect(not twice, f"orders audited more than once: {twice[:3]}")

    # The embedded worker (SQLite) runs the reconciliation job during the load: it must not have raised an alert.
    alerts = _rows(connection, "SELECT kind FROM risk_events WHERE category = 'alert'")
    verdict.expect(not alerts, f"alerts raised during the load: {alerts[:3]}")


# ---------------------------------------------------------------- 3. to the fen


def _money_and_points_add_up(connection: Any, journal: Journal, verdict: Verdict) -> None:
    """Σ member principal and bonus (and points), four ways: cached balances, postings, business records, journal.

    principal = Σ recharged − Σ recharge-refund principal − Σ paid from principal + Σ checkout-refund principal
    bonus     = Σ bonus credited at once − Σ bonus forfeited from the card − Σ paid from bonus
                + Σ checkout-refund bonus + Σ instalments released
    points    = Σ recharge points − Σ points taken back + Σ checkout points earned − Σ points used
                + Σ points restored (no expiry, birthday gift or closing happens during a load)
    """

    def scalar(sql: str) -> int:
        return int(connection.execute(text(sql)).scalar() or 0)

    def account_sum(kinds: str, column: str) -> int:
        if column == "balance":
            return scalar(f"SELECT SUM(balance) FROM ledger_accounts WHERE kind IN ({kinds})")
        return scalar(
            "SELECT SUM(p.amount) FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id "
            f"WHERE a.kind IN ({kinds})"
        )

    ledger = {
        "principal": account_sum("'member_principal'", "balance"),
        "bonus": account_sum("'member_bonus'", "balance"),
        "points": account_sum("'member_points_lot', 'member_points_debt'", "balance"),
    }
    postings = {
        "principal": account_sum("'member_principal'", "postings"),
        "bonus": account_sum("'member_bonus'", "postings"),
        "points": account_sum("'member_points_lot', 'member_points_debt'", "postings"),
    }
    recharged = scalar("SELECT SUM(amount_fen) FROM recharges")
    checkout_refunds = "FROM refunds WHERE kind = 'checkout_refund'"
    recharge_refunds = "FROM refunds WHERE kind = 'recharge_refund'"
    business = {
        "principal": recharged
        - scalar(f"SELECT SUM(principal_fen) {recharge_refunds}")
        - scalar("SELECT SUM(paid_principal_fen) FROM checkouts")
        + scalar(f"SELECT SUM(principal_fen) {checkout_refunds}"),
        "bonus": scalar("SELECT SUM(bonus_fen - bonus_pending_fen) FROM recharges")
        - scalar(f"SELECT SUM(bonus_forfeited_fen) {recharge_refunds}")
        - scalar("SELECT SUM(paid_bonus_fen) FROM checkouts")
        + scalar(f"SELECT SUM(bonus_fen) {checkout_refunds}")
        + scalar("SELECT SUM(amount_fen) FROM bonus_releases WHERE released_at IS NOT NULL"),
        "points": scalar("SELECT SUM(points_awarded) FROM recharges")
        + scalar("SELECT SUM(points_earned - points_used) FROM checkouts")
        - scalar("SELECT SUM(points_taken_back) FROM refunds")
        + scalar("SELECT SUM(points_restored) FROM refunds"),
    }
    # The same identity from the order records' own refund columns, kept by the refunds themselves.
    business_by_order = {
        "principal": recharged
        - scalar("SELECT SUM(refunded_principal_fen) FROM recharges")
        - scalar("SELECT SUM(paid_principal_fen - refunded_principal_fen) FROM checkouts"),
        "bonus": business["bonus"],
        "points": business["points"],
    }
    recharges, checkouts = journal.recharges.values(), journal.checkouts.values()
    c_refunds = [r for r in journal.refunds.values() if r["kind"] == "checkout_refund"]
    r_refunds = [r for r in journal.refunds.values() if r["kind"] == "recharge_refund"]
    told = {
        "principal": sum(r["amount"] for r in recharges)
        - sum(r["principal"] for r in r_refunds)
        - sum(c["principal"] for c in checkouts)
        + sum(r["principal"] for r in c_refunds),
        "bonus": sum(r["bonus_now"] for r in recharges)
        - sum(r["bonus_forfeited"] for r in r_refunds)
        - sum(c["bonus"] for c in checkouts)
        + sum(r["bonus"] for r in c_refunds),
        "points": sum(r["points"] for r in recharges)
        + sum(c["points_earned"] + c["gift_points"] - c["points_used"] for c in checkouts)
        - sum(r["points_taken_back"] for r in journal.refunds.values())
        + sum(r["points_restored"] for r in journal.refunds.values()),
    }
    for unit in ("principal", "bonus", "points"):
        four = (ledger[unit], postings[unit], business[unit], business_by_order[unit], told[unit])
        verdict.expect(
            len(set(four)) == 1,
            f"Σ member {unit}: cached {four[0]}, postings {four[1]}, business records {four[2]} / {four[3]}, "
            f"journal {four[4]}",
        )

    # Consumption paid from balance, net of checkout refunds: the counter accounts against the records.
    consumption_ledger = int(
        connection.execute(
            text(
                "SELECT SUM(p.amount) FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id "
                "WHERE a.kind = 'consumption' AND (a.code LIKE :principal OR a.code LIKE :bonus)"
            ),
            {"principal": "%:principal", "bonus": "%:bonus"},
        ).scalar()
        or 0
    )
    consumption_told = sum(c["principal"] + c["bonus"] for c in checkouts) - sum(
        r["principal"] + r["bonus"] for r in c_refunds
    )
    verdict.expect(
        consumption_ledger == consumption_told,
        f"consumption from balance: ledger {consumption_ledger}, journal {consumption_told}",
    )
    verdict.figures["balances_fen"] = {
        "principal": ledger["principal"],
        "bonus": ledger["bonus"],
        "points": ledger["points"],
        "recharged": recharged,
        "consumed_from_balance": consumption_ledger,
    }
