"""The degeneration figures see garbage, loops and replies that never stop."""

from __future__ import annotations

from interplay.trainer.loop.degeneration import Tolerances, figures, nonwords

FINE = ["I can help with your parcel. When did you order it?", "Sure, cooking pasta is easy and fun."]


def test_ordinary_replies_have_almost_no_nonwords() -> None:
    f = figures(FINE, [12, 9], ["stop_token", "stop_token"])
    assert f.nonword_rate == 0.0 and f.unfinished == 0.0 and f.empty == 0.0
    assert f.distinct_2 == 1.0 and f.repeated_3 == 0.0 and f.mean_tokens == 10.5


def test_the_dictionary_knows_ordinary_english_beyond_the_embedded_texts() -> None:
    """SmolLM2 talks about bicycles and gardening enthusiasts; the embedded CLINC150 and SST-2
    texts alone lacked such words, so the model's own replies scored 6-7% "non-words"."""
    from interplay.trainer.loop.degeneration import dictionary

    reply = ("Ah, welcome to the world of technology! What kind of bicycle do you own? Tomatoes "
             "play a crucial role, among gardening enthusiasts, in the agricultural industry.")
    assert nonwords(reply, dictionary()) == (0, 26)
    assert nonwords("BirrLaaAle1234 xqzvw Laaale frobnicatorix", dictionary())[0] == 4


def test_garbage_tokens_count_as_nonwords() -> None:
    bad, total = nonwords("**UK-specific answer:** BirrLaaAle1234 and xqzvw", frozenset({"uk", "specific",
                                                                                      "answer", "and"}))
    assert (bad, total) == (2, 5)  # words are whitespace tokens with letters


def test_tolerances_catch_loops_babble_and_rambling() -> None:
    start = figures(FINE, [12, 9], ["stop_token", "stop_token"])
    looping = figures(["I like it I like it I like it I like it"] * 2, [40, 40], ["length", "length"])
    failures = Tolerances().failures(looping, start)
    names = {f.split()[0] for f in failures}
    assert {"repeated_3", "distinct_2", "unfinished", "mean_tokens"} <= names
    babble = figures(["Qwzx vrrpt BirrLaaAle1234 zzkq", "Hmm"], [8, 1], ["stop_token", "stop_token"])
    assert "nonword_rate" in {f.split()[0] for f in Tolerances().failures(babble, start)}
    assert Tolerances().failures(start, start) == []
    shorter = figures(["Sure, when?", "Pasta is easy."], [4, 4], ["stop_token", "stop_token"])
    assert Tolerances().failures(shorter, start) == []  # shorter replies are not degeneration
