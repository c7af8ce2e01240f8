"""Clock, id generator and password hasher adapters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

__all__ = ["RandomIds", "ScryptPasswordHasher", "SystemClock"]


class SystemClock:
    """The real UTC clock."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        return datetime.now(UTC)


class RandomIds:
    """128-bit random URL-safe ids."""

    def new_id(self) -> str:
        """A fresh id."""
        return secrets.token_hex(16)


class ScryptPasswordHasher:
    """scrypt (memory-hard, standard library) with a random salt; encoded as ``scrypt$n$r$p$salt$hash``."""

    def __init__(self, n: int = 2**14, r: int = 8, p: int = 1) -> None:
        self._n = n
        self._r = r
        self._p = p

    def hash(self, password: str) -> str:
        """Encode a new hash of ``password``."""
        salt = secrets.token_bytes(16)
        digest = self._derive(password, salt, self._n, self._r, self._p)
        return "$".join(["scrypt", str(self._n), str(self._r), str(self._p), _b64(salt), _b64(digest)])

    def verify(self, encoded: str, password: str) -> bool:
        """Check ``password`` against ``encoded`` in constant time; malformed hashes never match."""
        try:
            scheme, n, r, p, salt, digest = encoded.split("$")
            if scheme != "scrypt":
                return False
            expected = _unb64(digest)
            actual = self._derive(password, _unb64(salt), int(n), int(r), int(p))
        except (ValueError, TypeError):
            return False
        return hmac.compare_digest(expected, actual)

    @staticmethod
    def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * 1024 * 1024, dklen=32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
