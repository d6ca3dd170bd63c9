"""Test and load-test tools for the `telegram` channel, kept apart from the channel itself.

`fake_server.FakeTelegram` is a local Bot API server that python-telegram-bot talks to through its
`base_url`; `loadtest.run_load` drives many chats through it (bench/telegram_load.py).
"""
