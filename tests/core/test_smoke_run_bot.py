from interplay.testing import run_bot


async def test_echo_reply_through_the_whole_bot():
    async with run_bot() as bot:
        reply = await bot.say("hello world")
        assert reply.text == "hello world"
        assert reply.source == "generator:echo"
        assert reply.deltas == ["hello", " world"]
        assert reply.reply is not None and reply.reply.model_version == "echo-1"
