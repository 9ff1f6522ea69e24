"""Imports every table so the metadata (and Alembic) sees the whole schema."""

from dinecard.ledger.models import Account, JournalTransaction, Posting
from dinecard.levels.models import LevelHistory
from dinecard.members.models import Member
from dinecard.platform.db import Base
from dinecard.platform.idempotency import IdempotencyRecord
from dinecard.platform.jobs import JobRun
from dinecard.platform.outbox import NotificationOnce, OutboxMessage
from dinecard.program.models import CampaignUsage, ProgramVersion
from dinecard.security.models import ApiKey, Approval, AuditEntry, AuditSeal, RiskEvent, Staff, StaffSession
from dinecard.stores.models import Store
from dinecard.wallet.models import Adjustment, BonusRelease, Checkout, Recharge, Refund

__all__ = [
    "Account",
    "Adjustment",
    "ApiKey",
    "Approval",
    "AuditEntry",
    "AuditSeal",
    "Base",
    "BonusRelease",
    "CampaignUsage",
    "Checkout",
    "IdempotencyRecord",
    "JobRun",
    "JournalTransaction",
    "LevelHistory",
    "Member",
    "NotificationOnce",
    "OutboxMessage",
    "Posting",
    "ProgramVersion",
    "Recharge",
    "Refund",
    "RiskEvent",
    "Staff",
    "StaffSession",
    "Store",
]
