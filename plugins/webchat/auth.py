"""Signed session tokens and origin checks for the web chat."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from interplay.core import ConfigError

MIN_SECRET = 16


class InvalidToken(Exception):
    """A session token that is malformed, forged or expired (the message says which)."""


@dataclass(frozen=True)
class Session:
    user_id: str
    conversation_id: str
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """HMAC-SHA256 tokens `<payload>.<signature>`; the payload names the user and conversation."""

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET:
            raise ConfigError(
                f"the webchat secret has {len(secret)} characters; use at least {MIN_SECRET} "
                "(e.g. `openssl rand -hex 32`)"
            )
        self._key = secret.encode()

    def sign(self, user_id: str, conversation_id: str | None = None, ttl: float = 86400.0) -> str:
        payload = {"u": user_id, "c": conversation_id or f"web:{user_id}", "exp": round(time.time() + ttl)}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str) -> Session:
        body, _, mac = token.partition(".")
        if not body or not mac:
            raise InvalidToken("malformed session token")
        if not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidToken("session token signature does not match")
        try:
            data = json.loads(_unb64(body))
            session = Session(str(data["u"]), str(data["c"]), float(data["exp"]))
        except (ValueError, KeyError, TypeError):
            raise InvalidToken("malformed session token") from None
        if session.expires < time.time():
            raise InvalidToken("session token expired")
        return session

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def origin_allowed(origin: str | None, host: str, scheme: str, allowed: Iterable[str]) -> bool:
    """The page's own origin, or one listed in `allowed_origins`; no Origin header is refused."""
    if not origin:
        return False
    if origin.rstrip("/") == f"{scheme}://{host}":
        return True
    return origin.rstrip("/") in {a.rstrip("/") for a in allowed}
