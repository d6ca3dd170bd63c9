from interplay.testing import run_bot


async def test_capitals_are_tagged_through_the_installed_entry_point():
    async with run_bot(analyzers=["shouting"], settings={"shouting": {"min_letters": 3}}) as bot:
        assert (await bot.say("WHERE IS MY PARCEL?")).annotations["shouting"].label == "yes"
        assert (await bot.say("where is my parcel?")).annotations["shouting"].label == "no"
        assert (await bot.say("OK")).annotations["shouting"].label == "no"
