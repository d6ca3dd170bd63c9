"""The web chat in a real headless Chromium (Debian's, driven by Playwright): open the page, chat,
watch the reply stream in, press 👍, and find the feedback in the store."""

from __future__ import annotations

import shutil

import pytest

from .conftest import NO_BROWSER, webchat_bot

pytestmark = pytest.mark.usefixtures("webchat_env")


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip(NO_BROWSER)
    pytest.importorskip("playwright", reason="pip install playwright (the dev extra has it)")
    return path


async def test_chat_in_a_browser_streams_the_reply_and_the_thumb_reaches_the_store(chromium: str):
    from playwright.async_api import async_playwright

    async with webchat_bot(delay=0.15) as (bot, channel), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            deltas: list[str] = []
            page.on(
                "websocket",
                lambda ws: ws.on("framereceived", lambda f: deltas.append(f) if '"delta"' in f else None),
            )
            await page.goto(f"{channel.url}/")
            await page.wait_for_selector("#status:text('online')", timeout=15_000)
            await page.fill("#text", "hello from a real browser")
            await page.click("#send")
            reply = page.locator("#log li.bot").last
            # mid-stream, the bubble holds part of the text (it grows word by word)
            await page.wait_for_function(
                "() => { const b = [...document.querySelectorAll('#log li.bot')].pop();"
                " return b && b.classList.contains('streaming') && b.textContent.length > 0; }",
                timeout=15_000,
            )
            partial = await reply.inner_text()
            await page.wait_for_selector("#log li.bot .rate button", timeout=15_000)
            assert (await reply.evaluate("b => b.firstChild.textContent")) == "hello from a real browser"
            assert partial and partial != "hello from a real browser"
            assert len(deltas) == 5  # one WebSocket frame per word
            reply_id = await reply.get_attribute("data-reply-id")
            await page.click("#log li.bot .rate button[aria-label='good reply']")
            await page.wait_for_selector(
                "button[aria-label='good reply'][aria-pressed='true']", timeout=10_000
            )
            assert await reply.get_attribute("data-model-version") == "echo-1"
        finally:
            await browser.close()
        feedback = await bot.store.feedback_for([reply_id])
    assert [(f.score, f.model_version, f.channel) for f in feedback] == [(1.0, "echo-1", "webchat")]
