"""The simulated users' hidden preferences say what they claim to."""

from __future__ import annotations

from interplay.trainer.loop.simulate import (
    ApologyRule,
    NameRule,
    NoMarkdownRule,
    QuestionRule,
    RandomRule,
    ShortReplyRule,
    prompts,
)


def test_each_rule_likes_what_it_says() -> None:
    assert QuestionRule().likes("Sure. What did you order?") and not QuestionRule().likes("Sure. Ask me?!.")
    assert NoMarkdownRule().likes("Pasta is easy: boil water, add salt.")
    assert not NoMarkdownRule().likes("Tips:\n- boil water\n- add salt")
    assert not NoMarkdownRule().likes("**Step one**: boil water")
    named = prompts(4, seed=1, style="named")
    name = named[0].split("I'm ")[1].split(".")[0]
    assert NameRule(80).likes(f"Of course, {name}! Happy to help.", named[0])
    assert not NameRule(80).likes("Of course! Happy to help.", named[0])
    assert not NameRule(10).likes(f"Of course, {name}! Happy to help.", named[0])
    assert ShortReplyRule(5).score(["Sure!", "Happy to help."]) == 0.5


def test_the_apology_rule_wants_an_apology_only_after_a_complaint() -> None:
    asked = prompts(6, seed=2, style="complaints")
    complaint, question = asked[1], asked[0]
    assert ApologyRule().likes("I'm so sorry to hear that. Let me help.", complaint)
    assert not ApologyRule().likes("Let me help. Sorry!", complaint)  # the apology must come first
    assert ApologyRule().likes("Let me help with that.", question)
    assert not ApologyRule().likes("Sorry, I can help.", question)


def test_random_ratings_are_a_fair_coin_and_repeatable() -> None:
    replies = [f"reply {i}" for i in range(400)]
    share = RandomRule(seed=1).score(replies)
    assert 0.4 < share < 0.6
    assert RandomRule(seed=1).score(replies) == share and RandomRule(seed=2).score(replies) != share
