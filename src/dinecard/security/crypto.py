"""Personal data at rest: AES-GCM encryption and an HMAC blind index for exact look-ups."""

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


class PersonalDataCipher:
    """Encrypts phone and ID numbers; the blind index finds them without decrypting every row."""

    def __init__(self, master_key: bytes) -> None:
        assert len(master_key) == 32, "the personal data key is 32 random bytes"
        self.key_id = hashlib.sha256(master_key).hexdigest()[:8]
        self._aead = AESGCM(_derive(master_key, b"dinecard personal data encryption"))
        self._index_key = _derive(master_key, b"dinecard personal data blind index")

    def encrypt(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"v1:{self.key_id}:" + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, purpose: str) -> str:
        version, key_id, payload = token.split(":", 2)
        assert version == "v1" and key_id == self.key_id, "ciphertext from an unknown key"
        raw = base64.b64decode(payload)
        return self._aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()

    def blind_index(self, plaintext: str, purpose: str) -> str:
        return hmac.new(self._index_key, f"{purpose}:{plaintext}".encode(), hashlib.sha256).hexdigest()


def load_or_create_key(configured: str | None, key_file: Path) -> bytes:
    """The configured key, or in embedded mode a key file made once with owner-only access."""
    if configured:
        key = base64.b64decode(configured)
        assert len(key) == 32, "DINECARD_DATA_KEY must be 32 bytes, base64-encoded"
        return key
    if key_file.exists():
        return base64.b64decode(key_file.read_text().strip())
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return key
