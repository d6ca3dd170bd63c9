"""Simulated users for tests and `bench/loop.py`: they rate replies by a rule the trainer never sees."""

from __future__ import annotations

import asyncio
import random
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TOPICS = (
    "my parcel", "the weather tomorrow", "a good book", "my broken laptop", "learning French",
    "a cheap flight",
    "cooking pasta", "my noisy neighbour", "a birthday present", "running a marathon", "my new phone",
    "saving money", "a job interview", "my cat", "the train strike", "a rainy weekend", "fixing my bike",
    "a headache", "the football match", "planting tomatoes",
)
FORMS = (
    "Can you help me with {t}?", "What do you think about {t}?", "Tell me something about {t}.",
    "I need advice on {t}.", "Any tips for {t}?", "Hi! I have a question about {t}.",
)
NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivo", "Jules", "Kofi", "Lena")
COMPLAINTS = (
    "I'm really annoyed: {t} went wrong again.", "This is the third time {t} failed me. Terrible!",
    "Nobody helps me with {t} and I'm fed up.", "Ugh, {t} is a disaster and I'm angry about it.",
)
APOLOGY = re.compile(r"\b(sorry|apolog\w*)\b", re.IGNORECASE)
MARKDOWN = re.compile(r"(\*\*|__|`|^\s*(?:[-*+•]|\d+[.)]|#+)\s)", re.MULTILINE)


def prompts(count: int, seed: int = 0, held_out: bool = False, style: str = "plain") -> list[str]:
    """Varied user messages; held-out ones use the other half of the topics (never trained on).

    style "named": the person says their name first; "complaints": every other message complains.
    """
    rng = random.Random(seed)
    topics = TOPICS[1::2] if held_out else TOPICS[0::2]
    out = []
    for i in range(count):
        forms = COMPLAINTS if style == "complaints" and i % 2 else FORMS
        text = rng.choice(forms).format(t=rng.choice(topics))
        if style == "named":
            text = f"Hi, I'm {rng.choice(NAMES)}. {text}"
        out.append(text)
    return out


class Rule:
    """A hidden preference: which replies simulated people like (the trainer never sees it)."""

    name = "rule"
    style = "plain"  # the prompts people who hold this preference send

    def likes(self, reply: str, prompt: str = "") -> bool:
        raise NotImplementedError

    def score(self, replies: list[str], prompts: list[str] | None = None) -> float:
        """Share of replies people would like."""
        asked = prompts or [""] * len(replies)
        return sum(self.likes(r, p) for r, p in zip(replies, asked, strict=True)) / max(len(replies), 1)

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class ShortReplyRule(Rule):
    """People like replies of at most `max_chars` characters (and say so with /good or /bad)."""

    max_chars: int
    name = "short"

    def likes(self, reply: str, prompt: str = "") -> bool:
        return 0 < len(reply.strip()) <= self.max_chars

    def describe(self) -> str:
        return f"short: at most {self.max_chars} characters"

    @classmethod
    def calibrated(cls, replies: list[str], share: float = 0.4) -> ShortReplyRule:
        """A threshold that the current model's replies meet `share` of the time."""
        lengths = sorted(len(r.strip()) for r in replies)
        return cls(max(1, lengths[min(len(lengths) - 1, int(share * len(lengths)))]))


@dataclass(frozen=True)
class NameRule(Rule):
    """Short replies that use the person's name (prompts say "Hi, I'm Ana.")."""

    max_chars: int = 200
    name = "name"
    style = "named"

    def likes(self, reply: str, prompt: str = "") -> bool:
        said = re.search(r"I'm (\w+)\.", prompt)
        return bool(said) and said.group(1) in reply and 0 < len(reply.strip()) <= self.max_chars


class QuestionRule(Rule):
    """Replies that end with a question."""

    name = "question"

    def likes(self, reply: str, prompt: str = "") -> bool:
        return reply.strip().endswith("?")


class NoMarkdownRule(Rule):
    """No bullet lists, numbered lists, headings, bold or code."""

    name = "no-markdown"

    def likes(self, reply: str, prompt: str = "") -> bool:
        return bool(reply.strip()) and not MARKDOWN.search(reply)


class ApologyRule(Rule):
    """An apology first when the person complains (and none when they do not)."""

    name = "apology"
    style = "complaints"

    def likes(self, reply: str, prompt: str = "") -> bool:
        first = re.split(r"(?<=[.!?])\s", reply.strip(), maxsplit=1)[0]
        complained = any(prompt.endswith(c.split("{t}")[-1]) for c in COMPLAINTS) if prompt else False
        return bool(APOLOGY.search(first)) == complained and bool(reply.strip())


@dataclass(frozen=True)
class RandomRule(Rule):
    """The negative control: a coin flip per reply (seeded by its text), no preference at all."""

    seed: int = 0
    name = "random"

    def likes(self, reply: str, prompt: str = "") -> bool:
        return random.Random(f"{self.seed}|{prompt}|{reply}").random() < 0.5


RULES = {"short": ShortReplyRule, "name": NameRule, "question": QuestionRule, "no-markdown": NoMarkdownRule,
         "apology": ApologyRule, "random": RandomRule}


def mean_length(replies: list[str]) -> float:
    return statistics.fmean(len(r.strip()) for r in replies) if replies else 0.0


async def simulate(say: Callable[..., Any], rule: Rule, messages: list[str], *, users: int = 8,
                   concurrency: int = 8, tag: str = "") -> dict[str, int]:
    """Users talk to the bot and rate each reply with /good or /bad by the rule.

    Message i goes to worker i % concurrency, so who says what in which conversation (and so the
    stored conversations, their contexts and which of them the export holds out) does not depend
    on which reply happens to come back first. `tag` keeps rounds' conversations apart.
    """
    counts = {"good": 0, "bad": 0}

    async def user_worker(worker: int) -> None:
        # one worker talks in its own conversations, so /good rates the reply it just got
        for done, text in enumerate(messages[worker::concurrency]):
            user, conversation = f"user{worker % users}", f"sim{tag}-w{worker}-{done // 4}"
            reply = await say(text, conversation=conversation, user=user)
            verdict = "good" if rule.likes(reply.text, text) else "bad"
            counts[verdict] += 1
            await say(f"/{verdict}", conversation=conversation, user=user)

    await asyncio.gather(*(user_worker(w) for w in range(concurrency)))
    return counts


REPERTOIRE = (
    "Sure!",
    "Happy to help.",
    "Good question, let me think.",
    "I can help with that, tell me more about it please.",
    "That is an interesting topic and there is a lot to say about it, so let us start at the beginning.",
    "Thanks for asking! I would be glad to go through this with you step by step, one thing at a time.",
)


def tiny_chat_model(*, steps: int = 250, seed: int = 0) -> tuple[Any, Any]:
    """A tiny Llama that answers any prompt with one of REPERTOIRE's replies, at random.

    A random-weight model only babbles bytes; this one has a repertoire of replies of very
    different lengths, so feedback about length has something to move (in a few seconds).
    """
    import torch
    from interplay.trainer.lm.tiny import tiny_llama

    corpus = [*REPERTOIRE, *prompts(60, seed=seed), *prompts(60, seed=seed, held_out=True)]
    tokenizer = _tiny_tokenizer(corpus)
    model = tiny_llama(tokenizer, seed=seed)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    for _ in range(steps):
        batch = [_chat_ids(tokenizer, rng.choice(prompts(8, seed=rng.random())), rng.choice(REPERTOIRE))
                 for _ in range(16)]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.tensor([i + [tokenizer.pad_token_id] * (width - len(i)) for i, _ in batch])
        labels = torch.tensor([[-100] * start + i[start:] + [-100] * (width - len(i)) for i, start in batch])
        loss = model(input_ids=ids, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), tokenizer


def _chat_ids(tokenizer: Any, prompt: str, reply: str) -> tuple[list[int], int]:
    head = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                         tokenize=True)
    head = list(head["input_ids"] if hasattr(head, "keys") else head)
    return head + tokenizer.encode(reply + "<|im_end|>", add_special_tokens=False), len(head)


def _tiny_tokenizer(corpus: list[str]) -> Any:
    """Byte-level BPE trained on the simulation's own texts: whole words, short sequences."""
    from interplay.trainer.lm.tiny import CHAT_TEMPLATE, SPECIAL
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([*corpus, "user assistant system"] * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    return fast
