"""The programme in the console: what is in force, the recharge tiers edited in a form, the versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from dinecard.program import service
from dinecard.program.views import ProgramChange, ProgramOut
from dinecard.security.policy import authorize
from dinecard.web.console_common import CONSOLE_ROLES, FormRefused, build, container_of, new_key, write
from dinecard.web.i18n import LANG_COOKIE, locale_of, register, translator
from dinecard.web.session import staff_page
from dinecard.web.templating import render

router = APIRouter()

register(
    {
        "program.title": ("会员方案", "Programme"),
        "program.in_force": ("当前生效：第 {version} 版（{name}）", "In force: version {version} ({name})"),
        "program.tiers": ("充值档位", "Recharge tiers"),
        "program.tier_amount": ("充值金额（元）", "Amount (yuan)"),
        "program.tier_bonus": ("赠送金额（元）", "Bonus (yuan)"),
        "program.tier_points": ("赠送积分", "Points"),
        "program.tier_remove": ("删除", "Remove"),
        "program.tier_row": ("第 {n} 档", "Tier {n}"),
        "program.add_row": ("增加一档", "Add a tier"),
        "program.note": ("备注", "Note"),
        "program.save": ("保存为新版本", "Save as a new version"),
        "program.saved": ("已保存，第 {version} 版已生效", "Saved: version {version} is in force"),
        "program.levels": ("会员等级", "Levels"),
        "program.level_name": ("等级", "Level"),
        "program.min_recharge": ("累计充值门槛", "Recharge threshold"),
        "program.min_consume": ("累计消费门槛", "Consumption threshold"),
        "program.discount": ("折扣", "Discount"),
        "program.multiplier": ("积分倍率", "Points multiplier"),
        "program.points": ("积分规则", "Points policy"),
        "program.earn_per_yuan": ("每消费 1 元得积分", "Points per yuan spent"),
        "program.redeem": ("积分抵现", "Redemption"),
        "program.redeem_text": (
            "{points} 积分抵 1 元，最多抵账单的 {share}",
            "{points} points = ¥1, up to {share} of a bill",
        ),
        "program.expiry": ("积分有效期", "Points expiry"),
        "program.member_day": ("会员日", "Member day"),
        "program.member_day_text": ("每月 {day} 日", "Day {day} of each month"),
        "program.versions": ("历史版本", "Versions"),
        "program.version": ("版本", "Version"),
        "program.effective_at": ("生效时间", "In force from"),
        "program.created_by": ("修改人", "By"),
    }
)


def _tier_rows(program: Any) -> list[dict[str, str]]:
    return [
        {"amount": tier.amount.yuan(), "bonus": tier.bonus.yuan(), "points": str(tier.points)}
        for tier in program.recharge.tiers
    ]


def _labels(request: Request, count: int) -> dict[str, str]:
    """Where a message belongs, in words: "第 2 档 赠送金额" for program.recharge.tiers.1.bonus."""
    t = translator(locale_of(request.cookies.get(LANG_COOKIE)))
    labels = {"program.recharge.tiers": t("program.tiers")}
    for index in range(count):
        for name in ("amount", "bonus", "points"):
            labels[f"program.recharge.tiers.{index}.{name}"] = (
                f"{t('program.tier_row', n=index + 1)} {t('program.tier_' + name)}"
            )
    return labels


def _page(
    request: Request,
    rows: list[dict[str, str]] | None = None,
    key: str | None = None,
    note: str = "",
    refused: FormRefused | None = None,
) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    program = container.program
    return render(
        request,
        "console/program.html",
        status_code=422 if refused else 200,
        principal=principal,
        section="program",
        program=program,
        rows=rows if rows is not None else _tier_rows(program),
        idempotency_key=key or new_key(),
        note=note,
        refused=refused,
        labels=_labels(request, len(rows) if rows is not None else len(program.recharge.tiers)),
        versions=service.list_versions(container.database),
        saved=request.query_params.get("saved"),
    )


@router.get("/program")
def show(request: Request) -> Response:
    return _page(request)


@router.post("/program/tiers")
def save_tiers(
    request: Request,
    amount: Annotated[list[str], Form(max_length=20)],
    bonus: Annotated[list[str], Form(max_length=20)],
    points: Annotated[list[str], Form(max_length=20)],
    remove: Annotated[list[str] | None, Form(max_length=5)] = None,
    note: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=10)] = "save",
    idempotency_key: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    removed = set(remove or ())
    rows = [
        {"amount": a.strip(), "bonus": b.strip(), "points": p.strip()}
        for index, (a, b, p) in enumerate(zip(amount, bonus, points, strict=False))
        if str(index) not in removed and (a.strip() or b.strip() or p.strip())
    ]
    if action == "add":
        return _page(request, [*rows, {"amount": "", "bonus": "0.00", "points": "0"}], idempotency_key, note)
    document = container.program.model_dump(mode="json")
    document["recharge"]["tiers"] = [
        {"amount": row["amount"], "bonus": row["bonus"] or "0", "points": row["points"] or "0"} for row in rows
    ]
    try:
        authorize(principal, "program.change")
        body: ProgramChange = build(ProgramChange, {"program": document, "note": note.strip() or None})

        def operation(uow, now):  # type: ignore[no-untyped-def]
            effective_at = body.effective_at or now
            saved = service.save_version(uow, body.program, effective_at, now, principal.name, body.note)
            return ProgramOut(
                version=saved.version, effective_at=max(effective_at, now), program=saved.model_dump(mode="json")
            )

        answer = write(request, principal, idempotency_key, body, operation)
    except FormRefused as refused:
        return _page(request, rows, idempotency_key, note, refused)
    finally:
        container.programs.invalidate()
    return RedirectResponse(f"/console/program?saved={answer['version']}", status_code=303)
