"""Rotating the personal-data key: every phone moves to the new key and stays findable throughout."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from dinecard.members import service as members
from dinecard.members.models import Member
from dinecard.platform.container import Container
from dinecard.security.crypto import PersonalDataCipher
from dinecard.security.keys import rotate, stale_count
from dinecard.shared.errors import DomainError

OLD, NEW = os.urandom(32), os.urandom(32)


def _register(container: Container, phone: str) -> str:
    with container.database.write() as uow:
        return members.register_member(
            uow, container.cipher, container.program, members.RegisterMember(phone=phone), container.clock.now()
        )


def test_rotation_reseals_every_phone_and_lookups_work_before_during_and_after(container: Container) -> None:
    # given members sealed with the old key
    container.cipher = PersonalDataCipher(OLD)
    ids = [_register(container, f"1390000{n:04d}") for n in range(3)]

    # when the new key is configured in front of the old one
    container.cipher = PersonalDataCipher(NEW, OLD)

    # then the old rows are still found by phone, and read, before any row has moved
    with container.database.read() as session:
        assert members.find_member_id(session, container.cipher, container.clock.now(), phone="13900000001") == ids[1]
    assert stale_count(container.database, container.cipher) == 3

    # when the rotation runs (twice: the second run has nothing left to do)
    assert rotate(container.database, container.cipher) == 3
    assert rotate(container.database, container.cipher) == 0

    # then every row opens with the new key alone, by phone and by view
    container.cipher = PersonalDataCipher(NEW)
    with container.database.read() as session:
        for number, member_id in enumerate(ids):
            phone = f"1390000{number:04d}"
            assert members.find_member_id(session, container.cipher, container.clock.now(), phone=phone) == member_id
            view = members.member_view(session, container.cipher, container.program, member_id, container.clock.now())
            assert view.phone_masked == phone[:3] + "****" + phone[-4:]
        tokens = session.execute(select(Member.phone_ciphertext)).scalars().all()
    assert all(PersonalDataCipher(NEW).is_current(token) for token in tokens)


def test_a_phone_registered_under_the_old_key_cannot_be_registered_again_during_rotation(
    container: Container,
) -> None:
    container.cipher = PersonalDataCipher(OLD)
    _register(container, "13900009999")
    container.cipher = PersonalDataCipher(NEW, OLD)
    with pytest.raises(DomainError) as refusal, container.database.write() as uow:
        members.register_member(
            uow, container.cipher, container.program, members.RegisterMember(phone="13900009999"), container.clock.now()
        )
    assert refusal.value.code == "phone_taken"
