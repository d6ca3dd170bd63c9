"""Slack's v0 request signatures: HMAC-SHA256 over `v0:{timestamp}:{body}` with the signing secret.

https://api.slack.com/authentication/verifying-requests-from-slack
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

VERSION = "v0"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
DEFAULT_TOLERANCE = 300.0  # Slack's documented five-minute window against replays


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    """The `v0=<hex>` signature Slack sends for this body and timestamp."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def signed_headers(secret: str, body: bytes, timestamp: float | None = None) -> dict[str, str]:
    """Headers that make `body` a correctly signed Slack request (for tests and fakes)."""
    stamp = str(int(time.time() if timestamp is None else timestamp))
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature_for(secret, stamp, body)}


@dataclass(frozen=True)
class Verdict:
    """Whether a request is authentic, and if not, a reason safe to log (it never holds the secret)."""

    ok: bool
    reason: str = ""


class SlackSignatureVerifier:
    """Checks `X-Slack-Signature` in constant time and rejects timestamps outside the window."""

    def __init__(
        self, secret: str, tolerance: float = DEFAULT_TOLERANCE, clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise ValueError("the signing secret is empty")
        self._secret = secret
        self.tolerance = tolerance
        self.clock = clock

    def __repr__(self) -> str:
        return f"SlackSignatureVerifier(tolerance={self.tolerance})"  # never show the secret

    def check(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        """Verify a request's headers against its raw body."""
        stamp = headers.get(TIMESTAMP_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if not stamp or not signature:
            return Verdict(False, "missing signature headers")
        try:
            sent_at = int(stamp)
        except ValueError:
            return Verdict(False, "timestamp is not an integer")
        if abs(self.clock() - sent_at) > self.tolerance:
            return Verdict(False, "stale timestamp (outside the replay window)")
        expected = signature_for(self._secret, stamp, body)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogateescape")):
            return Verdict(False, "signature mismatch")
        return Verdict(True)
