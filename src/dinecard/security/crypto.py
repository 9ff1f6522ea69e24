"""Personal data at rest: AES-GCM encryption and an HMAC blind index for exact look-ups.

Several keys can be configured (newest first) so keys can be rotated without downtime: new
data is sealed and indexed with the newest key, old ciphertexts still open with the key they
name, and look-ups try every key's index until `dinecard keys rotate` has moved every row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def key_id_of(master_key: bytes) -> str:
    return hashlib.sha256(master_key).hexdigest()[:8]


class _Key:
    def __init__(self, master: bytes) -> None:
        assert len(master) == 32, "a personal data key is 32 random bytes"
        self.id = key_id_of(master)
        self.master = master
        self.aead = AESGCM(_derive(master, b"dinecard personal data encryption"))
        self.index_key = _derive(master, b"dinecard personal data blind index")


class PersonalDataCipher:
    """Encrypts phone and ID numbers; the blind index finds them without decrypting every row."""

    def __init__(self, master_key: bytes, *older_keys: bytes) -> None:
        self._keys = [_Key(key) for key in (master_key, *older_keys)]
        self._by_id = {key.id: key for key in self._keys}
        self.key_id = self._keys[0].id

    def encrypt(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._keys[0].aead.encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"v1:{self.key_id}:" + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, purpose: str) -> str:
        version, key_id, payload = token.split(":", 2)
        assert version == "v1" and key_id in self._by_id, "ciphertext from an unknown key"
        raw = base64.b64decode(payload)
        return self._by_id[key_id].aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()

    def is_current(self, token: str) -> bool:
        return token.split(":", 2)[1] == self.key_id

    def derive(self, purpose: str) -> bytes:
        """A separate 32-byte key for another use (e.g. signing staff tokens)."""
        return _derive(self._keys[0].master, purpose.encode())

    def blind_index(self, plaintext: str, purpose: str) -> str:
        """The index under the newest key: what new and rotated rows carry."""
        return self._index(self._keys[0], plaintext, purpose)

    def blind_indexes(self, plaintext: str, purpose: str) -> list[str]:
        """The index under every configured key, newest first, for look-ups during a rotation."""
        return [self._index(key, plaintext, purpose) for key in self._keys]

    @staticmethod
    def _index(key: _Key, plaintext: str, purpose: str) -> str:
        return hmac.new(key.index_key, f"{purpose}:{plaintext}".encode(), hashlib.sha256).hexdigest()


def parse_keys(text: str) -> list[bytes]:
    """Keys as base64, newest first, separated by commas or new lines."""
    keys = [base64.b64decode(part) for part in text.replace("\n", ",").split(",") if part.strip()]
    assert keys and all(len(key) == 32 for key in keys), "each personal data key is 32 bytes, base64-encoded"
    return keys


def load_or_create_keys(configured: str | None, key_file: Path) -> list[bytes]:
    """The configured keys, or in embedded mode a key file made once with owner-only access."""
    if configured:
        return parse_keys(configured)
    if key_file.exists():
        return parse_keys(key_file.read_text())
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return [key]


def new_key_text() -> str:
    return base64.b64encode(os.urandom(32)).decode()
