"""Imports every table so the metadata (and Alembic) sees the whole schema."""

from dinecard.coupons.models import Coupon, CouponTemplate
from dinecard.ledger.models import Account, JournalTransaction, Posting
from dinecard.levels.models import LevelHistory
from dinecard.lottery.models import Draw, Lottery, Prize
from dinecard.mall.models import Redemption, Reward
from dinecard.members.logins import MemberLoginCode
from dinecard.members.models import Member
from dinecard.members.sessions import MemberSession
from dinecard.menu.models import Dish
from dinecard.platform.db import Base
from dinecard.platform.idempotency import IdempotencyRecord
from dinecard.platform.jobs import JobRun
from dinecard.platform.outbox import NotificationOnce, OutboxMessage
from dinecard.program.models import CampaignUsage, ProgramVersion
from dinecard.rewards.models import RewardEvent
from dinecard.security.models import ApiKey, Approval, AuditEntry, AuditSeal, RiskEvent, Staff, StaffSession
from dinecard.stamps.models import StampBalance, StampCard, StampEntry
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
    "Coupon",
    "CouponTemplate",
    "Dish",
    "Draw",
    "IdempotencyRecord",
    "JobRun",
    "JournalTransaction",
    "LevelHistory",
    "Lottery",
    "Member",
    "MemberLoginCode",
    "MemberSession",
    "NotificationOnce",
    "OutboxMessage",
    "Posting",
    "Prize",
    "ProgramVersion",
    "Recharge",
    "Redemption",
    "Refund",
    "Reward",
    "RewardEvent",
    "RiskEvent",
    "Staff",
    "StaffSession",
    "StampBalance",
    "StampCard",
    "StampEntry",
    "Store",
]
