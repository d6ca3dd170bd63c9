"""The real Slack channel at DEBUG: neither its signing secret nor its bot token reaches a log line."""

from __future__ import annotations

import io
import logging

from interplay.core.logs import setup_logging
from interplay.plugins.slack.testing import TEST_SECRET, direct_message, run_slack_bot, wait_for
from interplay.plugins.slack.testing.fake_api import FakeSlackAPI

TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"  # token-shaped, as Slack issues them


async def test_debug_logs_of_a_working_and_a_refused_request_hold_no_secret(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", TEST_SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    log = io.StringIO()
    setup_logging("DEBUG", stream=log)
    try:
        async with FakeSlackAPI(token=TOKEN) as fake, run_slack_bot(fake) as rig:
            logging.getLogger("interplay.test").debug("token would be %s, secret %s", TOKEN, TEST_SECRET)
            status, _ = await rig.sender.post_event(direct_message("D1", "hello"))
            assert status == 200
            await wait_for(lambda: fake.calls_to("chat.postMessage"))
            forged, _ = await rig.sender.post_event(direct_message("D1", "hi"), secret="not-the-secret")
            assert forged == 401
    finally:
        setup_logging("WARNING")
    captured = log.getvalue()
    assert "rejected POST /slack/events" in captured  # the refusal is logged...
    assert "token would be ***, secret ***" in captured  # ...and a careless line is masked
    assert TEST_SECRET not in captured and TOKEN not in captured
