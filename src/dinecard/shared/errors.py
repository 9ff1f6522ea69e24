"""Business refusals: a stable code, an HTTP status, and a message in Chinese and English.

These are expected outcomes (a member without enough balance), not bugs; bugs are assertions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorKind:
    code: str
    status: int
    message_zh: str
    message_en: str


class DomainError(Exception):
    """A refusal the caller can act on; the API turns it into RFC 9457 problem details."""

    def __init__(self, kind: ErrorKind, detail: dict[str, Any] | None = None) -> None:
        super().__init__(kind.code)
        self.kind = kind
        self.detail: dict[str, Any] = detail or {}

    @property
    def code(self) -> str:
        return self.kind.code


@dataclass
class _Catalog:
    kinds: dict[str, ErrorKind] = field(default_factory=dict)

    def add(self, code: str, status: int, zh: str, en: str) -> ErrorKind:
        assert code not in self.kinds, code
        kind = ErrorKind(code, status, zh, en)
        self.kinds[code] = kind
        return kind


CATALOG = _Catalog()
add = CATALOG.add

# Input
VALIDATION_FAILED = add("validation_failed", 422, "请求参数有误", "The request is not valid")
AMOUNT_INVALID = add(
    "amount_invalid",
    422,
    '金额须为不超过两位小数、不超过 1000000.00 的非负元金额字符串，如 "500.00"',
    'Amounts are yuan strings with at most two decimals, from 0 to 1000000.00, e.g. "500.00"',
)
AMOUNT_NOT_POSITIVE = add("amount_not_positive", 422, "金额必须大于零", "The amount must be greater than zero")
PHONE_INVALID = add("phone_invalid", 422, "手机号格式不正确", "The phone number is not a valid mainland mobile number")
ITEMS_TOTAL_MISMATCH = add(
    "items_total_mismatch", 422, "菜品明细合计与账单总额不一致", "The line items do not add up to the bill total"
)
POINTS_NOT_REDEEMABLE = add(
    "points_not_redeemable", 422, "积分数量无法整额抵扣", "This number of points does not convert to whole fen"
)
POINTS_EXCEED_BILL = add(
    "points_exceed_bill", 422, "抵扣积分超过应付金额", "The points to use are worth more than the amount due"
)
# Authentication and authorization
UNAUTHENTICATED = add("unauthenticated", 401, "缺少或无效的 API 密钥", "Missing or invalid API key")
FORBIDDEN = add("forbidden", 403, "当前角色无权执行此操作", "Your role may not do this")
# Not found
MEMBER_NOT_FOUND = add("member_not_found", 404, "会员不存在", "No such member")
STORE_NOT_FOUND = add("store_not_found", 404, "门店不存在", "No such store")
STAFF_NOT_FOUND = add("staff_not_found", 404, "员工账号不存在", "No such staff account")
API_KEY_NOT_FOUND = add("api_key_not_found", 404, "接口密钥不存在", "No such API key")
ORDER_NOT_FOUND = add("order_not_found", 404, "订单不存在", "No such order")
NOT_FOUND = add("not_found", 404, "资源不存在", "Not found")
# Conflicts with current state
PHONE_TAKEN = add("phone_taken", 409, "该手机号已注册会员", "A member with this phone number already exists")
STORE_CODE_TAKEN = add("store_code_taken", 409, "门店编号已存在", "A store with this code already exists")
MEMBER_FROZEN = add("member_frozen", 409, "会员卡已冻结，暂不能消费或充值", "The member card is frozen")
MEMBER_CLOSED = add("member_closed", 409, "会员卡已注销", "The member card is closed")
INSUFFICIENT_BALANCE = add("insufficient_balance", 409, "储值余额不足", "The stored-value balance is too low")
INSUFFICIENT_POINTS = add("insufficient_points", 409, "可用积分不足", "Not enough usable points")
REFUND_EXCEEDS_REMAINING = add(
    "refund_exceeds_remaining", 409, "退款金额超过可退金额", "The refund is more than what remains refundable"
)
NOTHING_TO_REFUND = add("nothing_to_refund", 409, "该订单已无可退金额", "Nothing remains to refund on this order")
ORDER_NOT_REFUNDABLE = add("order_not_refundable", 409, "该订单不可退款", "This order cannot be refunded")
IDEMPOTENCY_KEY_REUSED = add(
    "idempotency_key_reused",
    409,
    "该幂等键已用于另一个不同的请求",
    "This Idempotency-Key was already used for a different request",
)
IDEMPOTENCY_KEY_INVALID = add(
    "idempotency_key_invalid",
    422,
    "幂等键须为 1 到 200 个可见 ASCII 字符（不含空格）",
    "Idempotency-Key must be 1 to 200 visible ASCII characters, no spaces",
)
MEMBER_ALREADY_IN_STATE = add(
    "member_status_unchanged", 409, "会员已处于该状态", "The member is already in that status"
)
REFERRAL_CODE_UNKNOWN = add("referral_code_unknown", 422, "推荐码不存在", "No member has this referral code")
LOOKUP_NEEDS_ONE_KEY = add(
    "lookup_needs_one_key",
    422,
    "请提供手机号、卡号或会员码中的一项进行查询",
    "Look members up by exactly one of phone, card_no or member_code",
)
MEMBER_CODE_EXPIRED = add(
    "member_code_expired",
    409,
    "会员码已过期，请刷新后重新出示",
    "The member code has expired; ask the member to refresh it",
)
AMOUNT_NOT_A_PACKAGE = add(
    "amount_not_a_package", 422, "本店只接受固定充值档位金额", "Only the listed recharge package amounts are accepted"
)
POINTS_BELOW_MINIMUM = add(
    "points_below_minimum", 422, "积分抵扣未达到最低使用数量", "Fewer points than the minimum that may be used"
)
WRONG_STORE = add("wrong_store", 403, "只能在本门店办理此业务", "You may do this only at your own store")
LEVELS_IN_USE = add(
    "levels_in_use",
    409,
    "新方案缺少会员当前所在的等级，请保留这些等级",
    "The new programme drops levels that members hold; keep those levels",
)
RATE_LIMITED = add("rate_limited", 429, "操作过于频繁，请稍后再试", "Too many requests; retry later")
LOGIN_FAILED = add("login_failed", 401, "用户名或密码错误", "Wrong username or password")
USERNAME_TAKEN = add("username_taken", 409, "用户名已存在", "This username is taken")
STAFF_SELF_DISABLE = add(
    "staff_self_disable", 409, "不能停用自己正在使用的账号", "You cannot disable the account you are signed in with"
)
STORE_REQUIRED = add(
    "store_required", 422, "收银员和店长必须归属一个门店", "Cashiers and store managers belong to a store"
)
APPROVAL_REQUIRED = add(
    "approval_required",
    403,
    "金额超过审批额度，需店长授权（在 X-Approval 中提供店长凭证）",
    "Above the approval threshold: a store manager's credential is needed in X-Approval",
)
RECHARGE_LIMIT_EXCEEDED = add(
    "recharge_limit_exceeded", 422, "超过充值金额上限（单笔或单日）", "Above the recharge limit (single or daily)"
)
RECHARGE_TOO_FREQUENT = add(
    "recharge_too_frequent", 429, "充值过于频繁，请稍后再试", "Too many recharges in the last hour; retry later"
)
BALANCE_CAP_EXCEEDED = add(
    "balance_cap_exceeded", 409, "充值后余额将超过储值卡上限", "The card would hold more than its stored-value cap"
)
REASON_REQUIRED = add("reason_required", 422, "调整必须填写原因", "An adjustment needs a reason")
# Menu
DISH_NOT_FOUND = add("dish_not_found", 404, "菜品不在菜单中", "This dish is not on the menu")
DISH_NOT_AVAILABLE = add("dish_not_available", 422, "该菜品在本店不可售", "This dish is not sold at this store")
DISH_EXCLUSIVE = add("dish_exclusive", 422, "该菜品为高等级会员专享", "This dish is exclusive to higher member levels")
DISH_ID_TAKEN = add("dish_id_taken", 409, "菜品编号已存在", "A dish with this id already exists")
# Coupons: one code per reason a coupon cannot be used, so the till can say exactly why.
COUPON_NOT_FOUND = add("coupon_not_found", 404, "优惠券不存在", "No such coupon")
COUPON_TEMPLATE_NOT_FOUND = add("coupon_template_not_found", 404, "券模板不存在", "No such coupon template")
COUPON_TEMPLATE_TAKEN = add("coupon_template_taken", 409, "券模板编号已存在", "A coupon template with this code exists")
COUPON_TEMPLATE_INACTIVE = add(
    "coupon_template_inactive", 409, "该券已停止发放", "This coupon template is no longer issued"
)
COUPON_OUT_OF_STOCK = add("coupon_out_of_stock", 409, "券已发完", "No coupons of this template are left")
COUPON_MEMBER_LIMIT = add(
    "coupon_member_limit", 409, "该会员领取此券已达上限", "The member already holds the most coupons of this kind"
)
COUPON_WRONG_MEMBER = add("coupon_wrong_member", 409, "此券不属于该会员", "This coupon belongs to another member")
COUPON_NOT_YET_VALID = add("coupon_not_yet_valid", 409, "此券尚未到使用时间", "This coupon is not valid yet")
COUPON_EXPIRED = add("coupon_expired", 409, "此券已过期", "This coupon has expired")
COUPON_USED = add("coupon_used", 409, "此券已使用", "This coupon has already been used")
COUPON_VOIDED = add("coupon_voided", 409, "此券已作废", "This coupon has been voided")
COUPON_WRONG_STORE = add("coupon_wrong_store", 409, "此券不适用于本门店", "This coupon is not valid at this store")
COUPON_WRONG_LEVEL = add(
    "coupon_wrong_level", 409, "会员等级不满足此券的使用条件", "The member's level may not use this coupon"
)
COUPON_BLACKOUT_DATE = add(
    "coupon_blackout_date",
    409,
    "今日为此券的不可用日期（如节假日）",
    "This coupon cannot be used today (a blackout date)",
)
COUPON_THRESHOLD_NOT_MET = add(
    "coupon_threshold_not_met", 409, "未达到此券的使用门槛", "The bill does not reach this coupon's threshold"
)
COUPON_DISH_NOT_ON_BILL = add(
    "coupon_dish_not_on_bill", 409, "账单中没有此券适用的菜品", "The bill has no dish this voucher covers"
)
COUPON_NOT_COMBINABLE = add(
    "coupon_not_combinable", 409, "此券不能与账单上的其他券同时使用", "This coupon cannot be combined with the others"
)
COUPON_NO_EFFECT = add(
    "coupon_no_effect", 409, "账单已无可抵扣金额，此券无需使用", "Nothing is left on the bill for this coupon to take"
)
COUPON_DUPLICATE = add("coupon_duplicate", 422, "同一张券重复提交", "The same coupon was given twice")
# Points mall, level purchase, lottery, stamp cards
REWARD_NOT_FOUND = add("reward_not_found", 404, "积分商城中没有该礼品", "No such reward in the points mall")
REWARD_TAKEN = add("reward_taken", 409, "礼品编号已存在", "A reward with this id already exists")
REWARD_UNAVAILABLE = add("reward_unavailable", 409, "该礼品当前不可兑换", "This reward cannot be redeemed now")
REWARD_OUT_OF_STOCK = add("reward_out_of_stock", 409, "礼品已兑完", "This reward is out of stock")
REWARD_MEMBER_LIMIT = add(
    "reward_member_limit", 409, "该会员兑换此礼品已达上限", "The member has redeemed this reward the most times allowed"
)
REDEMPTION_NOT_FOUND = add("redemption_not_found", 404, "兑换记录不存在", "No such redemption")
REDEMPTION_NOT_CANCELLABLE = add(
    "redemption_not_cancellable",
    409,
    "该兑换已超过可取消时间、已取消或所兑券已使用",
    "This redemption can no longer be cancelled (window passed, already cancelled, or its coupon used)",
)
LEVEL_NOT_PURCHASABLE = add(
    "level_not_purchasable", 409, "该等级不能用积分购买", "This level cannot be bought with points"
)
LOTTERY_NOT_FOUND = add("lottery_not_found", 404, "抽奖活动不存在", "No such lottery")
LOTTERY_TAKEN = add("lottery_taken", 409, "抽奖活动编号已存在", "A lottery with this id already exists")
LOTTERY_CLOSED = add("lottery_closed", 409, "抽奖活动未开始或已结束", "This lottery is not running now")
LOTTERY_DAILY_LIMIT = add(
    "lottery_daily_limit", 429, "今日抽奖次数已用完", "The member has used today's draws for this lottery"
)
LOTTERY_NO_PRIZES = add("lottery_no_prizes", 409, "奖品已全部抽完", "Every prize of this lottery is gone")
DRAW_NOT_FOUND = add("draw_not_found", 404, "抽奖记录不存在", "No such draw")
STAMP_CARD_NOT_FOUND = add("stamp_card_not_found", 404, "集点卡不存在", "No such stamp card")
STAMP_CARD_TAKEN = add("stamp_card_taken", 409, "集点卡编号已存在", "A stamp card with this id already exists")
ITEM_NEEDS_NAME_AND_PRICE = add(
    "item_needs_name_and_price",
    422,
    "非菜单菜品须填写名称和单价；无明细时须填写账单总额",
    "A line without a menu dish needs a name and a price; a bill without lines needs bill_total",
)


def invalid(*problems: tuple[str | list[str | int], str]) -> DomainError:
    """A rule that needs the database to judge a request body, answered in the same shape as a
    request validation error: each problem is (field or path within the body, message)."""
    return DomainError(
        VALIDATION_FAILED,
        {
            "errors": [
                {
                    "loc": ["body", *([where] if isinstance(where, str) else where)],
                    "type": "value_error",
                    "message": text,
                }
                for where, text in problems
            ]
        },
    )
