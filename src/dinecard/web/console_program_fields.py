"""Programme form fields: a field is named by its path in the programme document
("levels.1.discount", "points.redemption.max_share"), so the model's message about
"program.levels.1.discount" finds its input; its kind says how typed text becomes the document's
value and back. No rule of the programme is here: the model judges the values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

# How a form field becomes a document value.
TEXT = "text"  # as typed (empty too: the model says what is needed)
OPTIONAL = "optional"  # empty: null (no limit, none)
LIST = "list"  # comma-separated: a list (empty: an empty list)
WHEN = "when"  # a local date and time (datetime-local) in the chain's time zone
FLAG = "flag"  # a checkbox
STORES = "stores"  # ticked store ids; none ticked: null (every store)

Fields = Mapping[str, str]  # field name (a dotted path inside the item) → kind


def _get(item: Mapping[str, Any], name: str) -> Any:
    value: Any = item
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _set(item: dict[str, Any], name: str, value: Any) -> None:
    *parents, last = name.split(".")
    for part in parents:
        item = item.setdefault(part, {})
    item[last] = value


def shown(value: Any, kind: str, timezone: str) -> Any:
    """A document value (JSON) as its form field shows it."""
    if kind == FLAG:
        return bool(value)
    if kind == STORES:
        return sorted(value or ())
    if value is None:
        return ""
    if kind == LIST:
        return ", ".join(str(part) for part in value)
    if kind == WHEN:
        return datetime.fromisoformat(str(value)).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")
    return str(value)


def taken(raw: Any, kind: str, timezone: str) -> Any:
    """A form value as the document's."""
    if kind == FLAG:
        return bool(raw)
    if kind == STORES:
        return list(raw) or None
    text = str(raw).strip()
    if kind == LIST:
        return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
    if not text:
        # "No limit" fields are null; any other emptied field is for the model to judge (it is
        # never left to a default: the form showed the value, defaults included).
        return None if kind == OPTIONAL else ""
    if kind == WHEN:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text  # the model says what a time looks like
        return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))).isoformat()
    return text


def form_item(item: Mapping[str, Any], fields: Fields, timezone: str) -> dict[str, Any]:
    """One item (a level, a campaign, a section) as its form fields show it."""
    return {name: shown(_get(item, name), kind, timezone) for name, kind in fields.items()}


def document_item(
    raw: Mapping[str, Any], fields: Fields, timezone: str, into: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Form fields as a document item; `into`: the item they change (its other keys are kept)."""
    item: dict[str, Any] = _deep_copy(into or {})
    for name, kind in fields.items():
        _set(item, name, taken(raw.get(name, ""), kind, timezone))
    return item


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _deep_copy(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_deep_copy(inner) for inner in value]
    return value


def read_item(form: FormData, prefix: str, fields: Fields) -> dict[str, Any]:
    """One item's fields as submitted: `prefix.name` (a list of ticked stores, a checkbox's presence)."""
    raw: dict[str, Any] = {}
    for name, kind in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if kind == STORES:
            raw[name] = [str(value)[:80] for value in form.getlist(key)]
        elif kind == FLAG:
            raw[name] = key in form
        else:
            raw[name] = str(form.get(key, "")).strip()[:200]
    return raw


def read_rows(form: FormData, prefix: str, fields: Fields, adding: bool) -> list[dict[str, Any]]:
    """The items of a list (`prefix.0.name`, `prefix.1.name`, …) in order, without those ticked for
    removal; when saving (not `adding` a row), also without rows nothing was typed in."""
    indices = sorted({int(key[len(prefix) + 1 :].split(".", 1)[0]) for key in form if _is_item_key(key, prefix)})
    rows = []
    for index in indices:
        row = read_item(form, f"{prefix}.{index}", fields)
        if f"{prefix}.{index}.remove" in form or (not adding and _blank(row, fields)):
            continue
        rows.append(row)
    return rows


def _blank(row: Mapping[str, Any], fields: Fields) -> bool:
    return not any(row.get(name) for name, kind in fields.items() if kind not in (FLAG, STORES))


def _is_item_key(key: str, prefix: str) -> bool:
    index = key[len(prefix) + 1 :].split(".", 1)[0]
    return key.startswith(prefix + ".") and index.isdigit() and len(index) <= 3


def form_text(form: FormData, name: str, limit: int = 200) -> str:
    return str(form.get(name, "")).strip()[:limit]
