"""How moments are written where the API's serializer does not reach (problem details, JSON detail)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, the way every API answer writes times (docs/api.md)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
