"""Rotating the personal-data key: re-seal every phone number and re-index it under the newest key."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from dinecard.members.models import Member
from dinecard.members.service import PHONE
from dinecard.platform.db import Database
from dinecard.security.crypto import PersonalDataCipher

BATCH_SIZE = 500


def rotate(database: Database, cipher: PersonalDataCipher, progress: Callable[[int], None] | None = None) -> int:
    """Move every member still sealed with an older key to the newest one; returns how many moved.

    Each batch is one transaction; look-ups keep working throughout because they try every
    configured key's index. Run again after a crash: rows already moved are skipped.
    """
    moved = 0
    after = ""
    while True:
        with database.write() as uow:
            rows = (
                uow.session.execute(select(Member).where(Member.id > after).order_by(Member.id).limit(BATCH_SIZE))
                .scalars()
                .all()
            )
            if not rows:
                return moved
            for member in rows:
                if cipher.is_current(member.phone_ciphertext):
                    continue
                phone = cipher.decrypt(member.phone_ciphertext, PHONE)
                member.phone_ciphertext = cipher.encrypt(phone, PHONE)
                member.phone_index = cipher.blind_index(phone, PHONE)
                moved += 1
            after = rows[-1].id
        if progress is not None:
            progress(len(rows))


def stale_count(database: Database, cipher: PersonalDataCipher) -> int:
    """Members whose phone is still sealed with an older key."""
    with database.read() as session:
        tokens = session.execute(select(Member.phone_ciphertext)).scalars()
        return sum(1 for token in tokens if not cipher.is_current(token))
