"""What every programme screen shares: load the programme in force as its document, let the screen
change its part from the form (console_program_fields), save that as a new version through the
API's path (authorized, idempotent, audited); and the screens' tabs, labels and choices.

The pages hold no business rule: the programme model validates the whole document, and its
messages come back by field (console_common.field_errors), in the caller's language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from dinecard.platform.container import Container
from dinecard.program import service
from dinecard.program.views import ProgramChange, ProgramOut
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize
from dinecard.shared.errors import DomainError
from dinecard.stores.service import list_stores
from dinecard.web.console_common import (
    CONSOLE_ROLES,
    FormRefused,
    build,
    container_of,
    domain_message,
    new_key,
    write,
)
from dinecard.web.console_program_fields import Fields, form_text
from dinecard.web.i18n import LANG_COOKIE, locale_of, register, translator
from dinecard.web.session import staff_page
from dinecard.web.templating import render

register(
    {
        "program.title": ("会员方案", "Programme"),
        "program.in_force": ("当前生效：第 {version} 版（{name}）", "In force: version {version} ({name})"),
        "program.overview": ("方案概览", "Overview"),
        "program.sections": ("方案各部分", "Parts of the programme"),
        "program.edit": ("编辑", "Edit"),
        "program.note": ("备注", "Note"),
        "program.save": ("保存为新版本", "Save as a new version"),
        "program.saved": ("已保存，第 {version} 版已生效", "Saved: version {version} is in force"),
        "program.remove": ("删除", "Remove"),
        "program.remove_on_save": ("保存时删除", "Remove when saved"),
        "program.empty_hint": ("空为不限", "Empty: no limit"),
        "program.list_hint": ("多个用逗号分隔", "Comma-separated"),
        "program.stores": ("适用门店", "Stores"),
        "program.stores_hint": ("不选即全部门店", "None ticked: every store"),
        "program.all_stores": ("全部门店", "Every store"),
        "program.no_stores": ("尚未开设门店", "No stores yet"),
        "program.yes": ("是", "Yes"),
        "program.no": ("否", "No"),
        "program.tiers": ("充值档位", "Recharge tiers"),
        "program.campaigns": ("充值活动", "Recharge campaigns"),
        "program.levels": ("会员等级", "Levels"),
        "program.points": ("积分规则", "Points policy"),
        "program.member_day": ("会员日", "Member day"),
    }
)

# The parts of the programme, each on its own page: (path under /console/program, title key).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("", "program.overview"),
    ("/tiers", "program.tiers"),
    ("/campaigns", "program.campaigns"),
    ("/levels", "program.levels"),
    ("/points", "program.points"),
    ("/member-day", "program.member_day"),
)

# ---------------------------------------------------------------- load, save, show


def current_document(container: Container) -> dict[str, Any]:
    """The programme in force now as its document (re-read: another process may have saved one).
    Without its version number: a form sent twice is the same request (replayed, saved once)."""
    container.programs.invalidate()
    document: dict[str, Any] = container.program.model_dump(mode="json", exclude={"version"})
    return document


def save_document(
    request: Request, principal: Principal, idempotency_key: str, document: dict[str, Any], note: str
) -> int:
    """The changed document as a new version, the API's way (authorized, idempotent, audited);
    FormRefused with the messages by field when the model or the service refuses it."""
    container = container_of(request)
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
    except DomainError as refused:
        raise FormRefused({}, domain_message(request, refused)) from refused
    finally:
        container.programs.invalidate()
    return int(answer["version"])


def save_change(
    request: Request, principal: Principal, form: FormData, change: Callable[[dict[str, Any]], None]
) -> int:
    """Load the programme in force, let `change` edit its document, save that as a new version
    with the form's key and note; the version, or FormRefused (nothing saved)."""
    document = current_document(container_of(request))
    change(document)
    return save_document(request, principal, form_text(form, "idempotency_key", 80), document, form_text(form, "note"))


def labels(
    request: Request,
    path: str,
    fields: Fields,
    words: str,
    title: str,
    count: int | None = None,
    row: str | None = None,
) -> dict[str, str]:
    """Where a message belongs, in words: "第 2 级 折扣" for program.levels.1.discount. A field's
    words are under `words.name` ("program.level.discount"), the part's under `title`, the rows
    of a list under `row` ("第 {n} 级")."""
    t = translator(locale_of(request.cookies.get(LANG_COOKIE)))
    found: dict[str, str] = {f"program.{path}": t(title)}
    for index in range(count) if count is not None else (None,):
        place = f"program.{path}" if index is None else f"program.{path}.{index}"
        before = "" if index is None or row is None else t(row, n=index + 1) + " "
        if before:
            found[place] = before.strip()
        for name in fields:
            found[f"{place}.{name}"] = before + t(f"{words}.{name}")
    return found


def choices(request: Request, values: Iterable[str], words: str) -> list[tuple[str, str]]:
    """Options of a select: each value with its words (`words.value`)."""
    t = translator(locale_of(request.cookies.get(LANG_COOKIE)))
    return [(str(value), t(f"{words}.{value}")) for value in values]


def saved(path: str, version: int) -> Response:
    return RedirectResponse(f"/console/program{path}?saved={version}", status_code=303)


def stores_of(container: Container) -> list[tuple[str, str]]:
    """The chain's stores as (id, "code name") for the store check boxes."""
    with container.database.read() as session:
        return [(store.id, f"{store.code} {store.name}") for store in list_stores(session)]


def program_page(
    request: Request,
    template: str,
    path: str,
    *,
    key: str | None = None,
    note: str = "",
    refused: FormRefused | None = None,
    **context: Any,
) -> Response:
    """A programme screen: the sections' tabs, what is in force, the form's key and note."""
    principal = staff_page(request, CONSOLE_ROLES)
    return render(
        request,
        template,
        status_code=422 if refused else 200,
        principal=principal,
        section="program",
        sections=SECTIONS,
        here=path,
        program=container_of(request).program,
        idempotency_key=key or new_key(),
        note=note,
        refused=refused,
        saved=request.query_params.get("saved"),
        **context,
    )
