"""Pseudonymisation of person ids: a keyed hash (HMAC-SHA256) whose key comes from configuration."""

from __future__ import annotations

import hashlib
import hmac


def pseudonymize(key: bytes, namespace: str, value: str) -> str:
    """Stable pseudonym of ``value`` within ``namespace`` (e.g. the facilitator the id comes from).

    Without the key the pseudonym cannot be linked back to the id; rotating the key changes every
    pseudonym (see the README's privacy section).
    """
    message = f"{namespace}\x1f{value.strip()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]
