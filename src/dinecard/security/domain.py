"""Roles and API key format."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CASHIER = "cashier"
    STORE_MANAGER = "store_manager"
    HQ_ADMIN = "hq_admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a staff member or an API key, with a role and (store roles) a store."""

    key_id: str  # the actor's id: the staff member's or the API key's
    name: str
    role: Role
    store_id: str | None
    kind: str = "api_key"  # api_key | staff


@dataclass(frozen=True)
class NewKey:
    prefix: str
    secret_sha256: str
    token: str


def generate_key() -> NewKey:
    """A key reads `dc_<prefix>.<secret>`: the prefix finds the row, the secret proves possession."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(prefix, hashlib.sha256(secret.encode()).hexdigest(), f"dc_{prefix}.{secret}")


def split_token(token: str) -> tuple[str, str] | None:
    if not token.startswith("dc_") or "." not in token:
        return None
    prefix, secret = token[3:].split(".", 1)
    return prefix, secret


def secret_matches(secret: str, expected_sha256: str) -> bool:
    return hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(), expected_sha256)
