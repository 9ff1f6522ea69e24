"""The member page's words, Chinese first."""

from __future__ import annotations

from collections.abc import Callable

from dinecard.web.i18n import register

_KINDS = {
    "recharge": ("充值", "Recharge"),
    "checkout": ("消费", "Purchase"),
    "refund": ("退款", "Refund"),
    "checkout_refund": ("退款", "Refund"),
    "adjustment": ("调整", "Adjustment"),
    "bonus_release": ("赠送金到账", "Bonus released"),
    "card_closed": ("销卡退款", "Card closed"),
    "birthday_gift": ("生日礼", "Birthday gift"),
    "upgrade_gift": ("升级礼", "Upgrade gift"),
    "recharge_gift": ("充值赠积分", "Recharge gift"),
    "points_expired": ("积分过期", "Points expired"),
    "expire": ("积分过期", "Points expired"),
    "level_purchase": ("积分购买等级", "Level bought with points"),
    "mall_redemption": ("积分商城兑换", "Points mall"),
    "mall_redeem": ("积分商城兑换", "Points mall"),
    "mall_cancellation": ("商城兑换取消", "Mall order cancelled"),
    "mall_cancel": ("商城兑换取消", "Mall order cancelled"),
    "lottery_draw": ("抽奖", "Lottery draw"),
    "lottery_prize": ("抽奖奖品", "Lottery prize"),
    "earn": ("消费得积分", "Points earned"),
    "redeem": ("积分抵现", "Points used"),
}

register({f"me.kind.{key}": pair for key, pair in _KINDS.items()})
register(
    {
        "me.title": ("会员中心", "Member page"),
        "me.login.title": ("会员登录", "Member login"),
        "me.login.phone": ("手机号", "Mobile number"),
        "me.login.send": ("获取验证码", "Send me a code"),
        "me.login.phone_invalid": ("请输入 11 位手机号", "Enter an 11-digit mobile number"),
        "me.login.throttled": (
            "获取验证码太频繁，请 60 秒后再试",
            "Codes are sent at most once a minute; try again soon",
        ),
        "me.login.sent": (
            "如果该手机号已注册会员，验证码已发送，5 分钟内有效。",
            "If this number belongs to a member, a code is on its way; it is valid for 5 minutes.",
        ),
        "me.login.code": ("验证码（6 位数字）", "Code (6 digits)"),
        "me.login.verify": ("登录", "Log in"),
        "me.login.again": ("重新获取验证码", "Send a new code"),
        "me.login.wrong": ("验证码不正确，请重试（最多 5 次）", "Wrong code; try again (5 tries at most)"),
        "me.login.expired": ("验证码已失效，请重新获取", "This code is no longer valid; ask for a new one"),
        "me.login.locked": ("错误次数过多，请重新获取验证码", "Too many wrong tries; ask for a new code"),
        "me.logout": ("退出登录", "Log out"),
        "me.login.session_ended": (
            "登录已过期或已退出，请重新登录",
            "Your login has expired or ended; please log in again",
        ),
        "me.hello": ("您好，{name}", "Hello, {name}"),
        "me.member": ("会员", "member"),
        "me.card_no": ("卡号", "Card no."),
        "me.level": ("会员等级", "Level"),
        "me.top_level": ("您已是最高等级", "You are at the top level"),
        "me.next.recharge": ("再充值 {amount} 升级{level}", "Recharge {amount} more to become {level}"),
        "me.next.consume": ("再消费 {amount} 升级{level}", "Spend {amount} more to become {level}"),
        "me.next.or_recharge": ("或再充值 {amount}", "or recharge {amount} more"),
        "me.next.or_consume": ("或再消费 {amount}", "or spend {amount} more"),
        "me.next.shorter": ("（这条路更近）", "(the shorter way)"),
        "me.balance": ("储值余额", "Stored value"),
        "me.principal": ("本金", "Principal"),
        "me.bonus": ("赠送金", "Bonus"),
        "me.pending_bonus": ("待到账赠送金", "Bonus on its way"),
        "me.points": ("可用积分", "Usable points"),
        "me.expiring": ("{points} 积分有效期至 {date}", "{points} points usable until {date}"),
        "me.expiring_total": ("30 天内将过期 {points} 积分", "{points} points expire within 30 days"),
        "me.no_expiring": ("30 天内没有积分过期", "No points expire in the next 30 days"),
        "me.coupons": ("可用优惠券", "Usable coupons"),
        "me.coupon_until": ("有效期至 {date}", "Valid until {date}"),
        "me.no_coupons": ("暂无可用优惠券", "No usable coupons"),
        "me.money_history": ("储值记录", "Money history"),
        "me.points_history": ("积分记录", "Points history"),
        "me.no_history": ("暂无记录", "Nothing yet"),
        "me.more": ("查看更多", "See more"),
        "me.show_code": ("出示会员码", "Show my member code"),
        "me.code.title": ("会员码", "Member code"),
        "me.code.hint": (
            "结账时请向收银员出示此码；每 60 秒自动更新，截图无效。",
            "Show this at the till; it changes every 60 seconds, so a screenshot will not work.",
        ),
        "me.code.countdown": ("{seconds} 秒后自动刷新", "Refreshes in {seconds} s"),
        "me.code.refresh": ("立即刷新", "Refresh now"),
        "me.code.qr": ("会员码二维码", "Member code QR"),
        "me.code.digits": ("会员码数字", "Member code digits"),
        "me.home": ("返回会员中心", "Back to my page"),
        "me.history.title": ("全部记录", "All history"),
        "me.col.when": ("时间", "When"),
        "me.col.what": ("类型", "What"),
        "me.col.change": ("变动", "Change"),
    }
)


def kind_label(t: Callable[..., str], kind: str) -> str:
    """A history line's kind in words; an unknown kind shows as it is."""
    return t(f"me.kind.{kind}") if kind in _KINDS else kind
