"""Character spans → BIO token labels → spans, through the fast tokenizer's offsets and the runtime's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from interplay.plugins.entities.spans import (
    IGNORE,
    Span,
    bio_labels,
    decode,
    tags_to_spans,
    token_label_ids,
    words,
)

TAGS = bio_labels(["city", "time", "artist"])
INDEX = {t: i for i, t in enumerate(TAGS)}

# (text, spans): punctuation next to and inside entities, Unicode, repeated whitespace, entities at both ends
TRICKY = [
    ("paris", [Span("city", 0, 5)]),
    ("weather in São Paulo, tomorrow!", [Span("city", 11, 20), Span("time", 22, 30)]),
    ("  paris   next   week  ", [Span("city", 2, 7), Span("time", 10, 21)]),
    ("Zürich?!tomorrow", [Span("city", 0, 6), Span("time", 8, 16)]),
    ("play daft-punk... NOW", [Span("artist", 5, 14), Span("time", 18, 21)]),
    ("☀️ in tokyo", [Span("city", 6, 11)]),
    ("tomorrow\tin\nnew york", [Span("time", 0, 8), Span("city", 12, 20)]),
    ("no entities here", []),
]


def _hf_encode(tokenizer, text):
    enc = tokenizer(text, return_offsets_mapping=True)
    return enc.word_ids(), [tuple(o) for o in enc["offset_mapping"]]


def _round_trip(spans, word_ids, offsets):
    ids = token_label_ids(spans, word_ids, offsets, INDEX)
    probs = np.zeros((len(ids), len(TAGS)))
    for token, tag_id in enumerate(ids):
        probs[token, tag_id if tag_id != IGNORE else INDEX["O"]] = 1.0
    return ids, decode(probs, word_ids, offsets, TAGS)


@pytest.mark.parametrize(("text", "spans"), TRICKY)
def test_spans_survive_bio_round_trip_with_the_training_tokenizer(
    tiny_bert: Path, text: str, spans: list[Span]
):
    from transformers import AutoTokenizer

    word_ids, offsets = _hf_encode(AutoTokenizer.from_pretrained(tiny_bert), text)
    ids, back = _round_trip(spans, word_ids, offsets)
    assert [(s.label, s.start, s.end) for s in back] == [(s.label, s.start, s.end) for s in spans]
    assert [s.text(text) for s in back] == [text[s.start : s.end] for s in spans]
    labelled = [i for i in ids if i != IGNORE]
    assert len(labelled) == len(words(word_ids, offsets))  # exactly one label per word
    assert ids[0] == IGNORE and ids[-1] == IGNORE  # [CLS] and [SEP]


@pytest.mark.parametrize(("text", "spans"), TRICKY)
def test_runtime_tokenizer_gives_the_same_words(tiny_bert: Path, text: str, spans: list[Span]):
    from interplay.plugins.nlu.model_dir import load_tokenizer
    from transformers import AutoTokenizer

    hf = _hf_encode(AutoTokenizer.from_pretrained(tiny_bert), text)
    enc = load_tokenizer(tiny_bert, 64).encode(text)  # tokenizers.Tokenizer from tokenizer.json, as served
    assert words(enc.word_ids, enc.offsets) == words(*hf)
    _, back = _round_trip(spans, enc.word_ids, enc.offsets)
    assert [(s.label, s.start, s.end) for s in back] == [(s.label, s.start, s.end) for s in spans]


def test_sub_words_after_the_first_are_ignored(tiny_bert: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    text = "weather in xyzzy"  # not in the vocabulary: split into sub-words
    word_ids, offsets = _hf_encode(tokenizer, text)
    ids = token_label_ids([Span("city", 11, 16)], word_ids, offsets, INDEX)
    pieces = [i for i, w in enumerate(word_ids) if w == word_ids[-2]]
    assert len(pieces) > 1
    assert ids[pieces[0]] == INDEX["B-city"]
    assert all(ids[p] == IGNORE for p in pieces[1:])


def test_ill_formed_bio_is_read_as_conlleval_does():
    ws = words([None, 0, 1, 2, 3, None], [(0, 0), (0, 1), (2, 3), (4, 5), (6, 7), (0, 0)])
    spans = tags_to_spans(["I-city", "I-time", "I-time", "B-time"], ws)
    assert [(s.label, s.start, s.end) for s in spans] == [("city", 0, 1), ("time", 2, 5), ("time", 6, 7)]


def test_decode_uses_the_first_sub_word_and_averages_confidence():
    word_ids = [None, 0, 0, 1, None]
    offsets = [(0, 0), (0, 3), (3, 5), (6, 9), (0, 0)]
    probs = np.full((5, len(TAGS)), 0.01)
    probs[1, INDEX["B-city"]] = 0.9
    probs[2, INDEX["O"]] = 0.99  # a later sub-word disagrees: ignored
    probs[3, INDEX["I-city"]] = 0.5
    (span,) = decode(probs, word_ids, offsets, TAGS)
    assert (span.label, span.start, span.end) == ("city", 0, 9)
    assert span.confidence == pytest.approx(0.7)
