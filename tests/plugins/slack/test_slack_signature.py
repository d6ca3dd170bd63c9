"""v0 signatures: Slack's documented example, agreement with slack_sdk, and every rejection."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from interplay.plugins.slack.signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SlackSignatureVerifier,
    signature_for,
    signed_headers,
)
from slack_sdk.signature import SignatureVerifier

# The worked example from https://api.slack.com/authentication/verifying-requests-from-slack
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def at(now: float) -> SlackSignatureVerifier:
    return SlackSignatureVerifier(DOC_SECRET, clock=lambda: now)


def test_documented_example() -> None:
    assert signature_for(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY) == DOC_SIGNATURE
    headers = {TIMESTAMP_HEADER: DOC_TIMESTAMP, SIGNATURE_HEADER: DOC_SIGNATURE}
    assert at(int(DOC_TIMESTAMP) + 60).check(headers, DOC_BODY).ok


@settings(max_examples=50, deadline=None)
@given(
    body=st.text(max_size=500).map(str.encode),
    secret=st.text(min_size=1, max_size=40).filter(str.strip),
    stamp=st.integers(min_value=1_000_000_000, max_value=4_000_000_000),
)
def test_agrees_with_slack_sdk(body: bytes, secret: str, stamp: int) -> None:
    ours = signature_for(secret, str(stamp), body)
    theirs = SignatureVerifier(secret).generate_signature(timestamp=str(stamp), body=body)
    assert ours == theirs
    # and an independent HMAC, so neither library is only checked against the other
    plain = hmac.new(secret.encode(), b"v0:%d:" % stamp + body, hashlib.sha256).hexdigest()
    assert ours == "v0=" + plain


def test_signed_headers_pass_slack_sdk_verifier() -> None:
    body = b'{"type":"event_callback"}'
    headers = signed_headers(DOC_SECRET, body)
    assert SignatureVerifier(DOC_SECRET).is_valid_request(body, headers)
    assert SlackSignatureVerifier(DOC_SECRET).check(headers, body).ok


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({TIMESTAMP_HEADER: DOC_TIMESTAMP}, "missing"),
        ({SIGNATURE_HEADER: DOC_SIGNATURE}, "missing"),
        ({TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: DOC_SIGNATURE}, "integer"),
        ({TIMESTAMP_HEADER: DOC_TIMESTAMP, SIGNATURE_HEADER: DOC_SIGNATURE[:-1] + "4"}, "mismatch"),
        ({TIMESTAMP_HEADER: DOC_TIMESTAMP, SIGNATURE_HEADER: "v0=é"}, "mismatch"),
        ({TIMESTAMP_HEADER: str(int(DOC_TIMESTAMP) + 1), SIGNATURE_HEADER: DOC_SIGNATURE}, "mismatch"),
    ],
)
def test_rejections(headers: dict[str, str], reason: str) -> None:
    verdict = at(int(DOC_TIMESTAMP)).check(headers, DOC_BODY)
    assert not verdict.ok and reason in verdict.reason


@pytest.mark.parametrize("offset", [301, -301, 3600])
def test_stale_timestamp_is_rejected_even_when_signed_correctly(offset: int) -> None:
    headers = {TIMESTAMP_HEADER: DOC_TIMESTAMP, SIGNATURE_HEADER: DOC_SIGNATURE}
    verdict = at(int(DOC_TIMESTAMP) + offset).check(headers, DOC_BODY)
    assert not verdict.ok and "stale" in verdict.reason
    assert not SignatureVerifier(DOC_SECRET, clock=_Clock(int(DOC_TIMESTAMP) + offset)).is_valid(
        DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE
    )


def test_edge_of_the_window_is_accepted() -> None:
    headers = {TIMESTAMP_HEADER: DOC_TIMESTAMP, SIGNATURE_HEADER: DOC_SIGNATURE}
    assert at(int(DOC_TIMESTAMP) + 300).check(headers, DOC_BODY).ok


def test_tampered_body_is_rejected() -> None:
    headers = {TIMESTAMP_HEADER: DOC_TIMESTAMP, SIGNATURE_HEADER: DOC_SIGNATURE}
    assert not at(int(DOC_TIMESTAMP)).check(headers, DOC_BODY + b"&x=1").ok


def test_repr_never_shows_the_secret() -> None:
    assert DOC_SECRET not in repr(SlackSignatureVerifier(DOC_SECRET))


class _Clock:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_a_signature_header_that_is_not_utf8_is_a_mismatch_not_a_crash() -> None:
    # aiohttp hands on undecodable header bytes as surrogates ("\udcff")
    for signature in ("v0=\udcff\udcfe", "v0=" + "é" * 64):
        headers = {TIMESTAMP_HEADER: DOC_TIMESTAMP, SIGNATURE_HEADER: signature}
        verdict = at(int(DOC_TIMESTAMP)).check(headers, DOC_BODY)
        assert not verdict.ok and verdict.reason == "signature mismatch"
