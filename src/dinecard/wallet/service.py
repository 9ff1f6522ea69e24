"""Money use cases: recharge, checkout (and its quote), refunds and closing a card.

Each runs in the caller's transaction, under the member's lock, and writes one balanced
journal transaction per order. The operations live in one module each; this module is the
package's front door, so callers write `wallet.service.recharge(...)`.
"""

from dinecard.wallet.checking_out import CheckoutCommand, CheckoutQuote, CheckoutResult, LineItem, checkout, quote
from dinecard.wallet.closing import CloseResult, close_card
from dinecard.wallet.common import Channel, MemberAfter, PaymentMethod
from dinecard.wallet.recharging import RechargeCommand, RechargeResult, recharge
from dinecard.wallet.refunding import RefundResult, refund, refund_preview

__all__ = [
    "Channel",
    "CheckoutCommand",
    "CheckoutQuote",
    "CheckoutResult",
    "CloseResult",
    "LineItem",
    "MemberAfter",
    "PaymentMethod",
    "RechargeCommand",
    "RechargeResult",
    "RefundResult",
    "checkout",
    "close_card",
    "quote",
    "recharge",
    "refund",
    "refund_preview",
]
