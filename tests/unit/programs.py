"""Build programme variants for tests: the default document with some parts changed."""

from __future__ import annotations

from typing import Any

from dinecard.program.domain import Program
from dinecard.program.presets import default_program


def _merge(base: Any, changes: Any) -> Any:
    if isinstance(base, dict) and isinstance(changes, dict):
        return {key: _merge(base.get(key), value) for key, value in {**base, **changes}.items() if key}
    return changes if changes is not None else base


def variant(changes: dict[str, Any], base: Program | None = None) -> Program:
    """The programme with `changes` merged into its document, validated like an HQ edit."""
    document = (base or default_program()).model_dump(mode="json")
    return Program.model_validate(_merge(document, changes))


def with_levels(update: dict[str, dict[str, Any]], base: Program | None = None) -> Program:
    """Change fields of some levels, by level code."""
    document = (base or default_program()).model_dump(mode="json")
    document["levels"] = [{**level, **update.get(level["code"], {})} for level in document["levels"]]
    return Program.model_validate(document)
