"""The SNIPS per-slot metric follows the benchmark's rules; seqeval gives entity-level scores."""

from __future__ import annotations

import pytest
from interplay.plugins.entities.spans import Span
from interplay.trainer.tagger.data import TaggedExample
from interplay.trainer.tagger.evaluate import entity_report, snips_slot_metrics

ROWS = [
    TaggedExample("rain in paris", (Span("city", 8, 13),), "GetWeather"),
    TaggedExample("rain in rome today", (Span("city", 8, 12), Span("time", 13, 18)), "GetWeather"),
    TaggedExample("play abba", (Span("artist", 5, 9),), "PlayMusic"),
]


def test_mean_over_intent_slot_pairs_with_gold_intents():
    predicted = [[Span("city", 8, 13)], [Span("city", 8, 12)], [Span("artist", 5, 9), Span("city", 0, 4)]]
    m = snips_slot_metrics(ROWS, predicted)
    pairs = m["per_pair"]
    assert set(pairs) == {"GetWeather/city", "GetWeather/time", "PlayMusic/artist", "PlayMusic/city"}
    assert pairs["GetWeather/city"]["f1"] == 1.0 and pairs["GetWeather/time"]["f1"] == 0.0
    assert pairs["PlayMusic/artist"]["f1"] == 1.0
    assert pairs["PlayMusic/city"] == {"tp": 0, "fp": 1, "fn": 0, "f1": 0.0}
    assert m["mean_slot_f1"] == pytest.approx(0.5)


def test_a_wrong_intent_counts_no_slots_but_keeps_its_pairs():
    predicted = [[Span("city", 8, 13)], [Span("city", 8, 12)], [Span("artist", 5, 9)]]
    m = snips_slot_metrics(ROWS, predicted, ["GetWeather", "PlayMusic", "PlayMusic"])
    pairs = m["per_pair"]
    assert pairs["GetWeather/city"] == {"tp": 1, "fp": 0, "fn": 0, "f1": 1.0}  # row 2 not counted
    assert pairs["GetWeather/time"]["f1"] == 0.0  # only seen in the mispredicted row
    assert pairs["PlayMusic/city"]["tp"] == 0  # predicted under the wrong intent: a pair, no counts
    assert m["mean_slot_f1"] == pytest.approx(0.5)


def test_matching_is_by_raw_text_and_slot_name():
    predicted = [[Span("city", 8, 12)], [Span("time", 8, 12), Span("time", 13, 18)], []]
    pairs = snips_slot_metrics(ROWS, predicted)["per_pair"]
    assert pairs["GetWeather/city"] == {"tp": 0, "fp": 1, "fn": 2, "f1": 0.0}  # "pari" is not "paris"
    assert pairs["GetWeather/time"]["tp"] == 1 and pairs["GetWeather/time"]["fp"] == 1


def test_entity_report_is_seqeval_per_type_micro_and_macro():
    gold = [["B-city", "I-city", "O", "B-time"], ["B-city"]]
    pred = [["B-city", "O", "O", "B-time"], ["B-city"]]
    report = entity_report(gold, pred)
    assert report["per_type"]["time"]["f1"] == 1.0
    assert report["per_type"]["city"]["f1"] == pytest.approx(
        0.5
    )  # the truncated span is wrong, not half right
    assert report["micro"]["f1"] == pytest.approx(2 / 3)
    assert report["macro"]["f1"] == pytest.approx(0.75)


def test_gold_pairs_mean_leaves_out_slot_names_the_intent_never_has():
    predicted = [
        [Span("city", 8, 13)],
        [Span("city", 8, 12), Span("time", 13, 18)],
        [Span("artist", 5, 9), Span("city", 0, 4)],
    ]
    m = snips_slot_metrics(ROWS, predicted)
    assert m["pairs"] == 4 and m["mean_slot_f1"] == pytest.approx(0.75)  # PlayMusic/city: F1 0
    assert m["gold_pairs"] == 3 and m["mean_slot_f1_gold_pairs"] == 1.0


def test_constrained_decoding_keeps_to_the_intent_slots():
    import numpy as np
    from interplay.plugins.entities.spans import bio_labels
    from interplay.trainer.tagger.evaluate import allowed_tags, constrained_spans
    from interplay.trainer.tagger.model import TaggedEncoded

    tags = bio_labels(["artist", "city", "time"])
    allowed = allowed_tags(ROWS, tags)
    assert [t for t, ok in zip(tags, allowed["PlayMusic"], strict=True) if ok] == [
        "O",
        "B-artist",
        "I-artist",
    ]
    enc = TaggedEncoded(
        [[0, 1, 2, 0]], [[]], [-100], [[None, 0, 1, None]], [[(0, 0), (0, 4), (5, 9), (0, 0)]]
    )
    logits = np.zeros((4, len(tags)))
    logits[1, tags.index("O")] = 5.0
    logits[2, tags.index("B-city")] = 5.0  # the best tag overall is not a PlayMusic slot
    logits[2, tags.index("B-artist")] = 3.0
    (free,) = constrained_spans(enc, [logits], tags, ["GetWeather"], allowed)
    (fixed,) = constrained_spans(enc, [logits], tags, ["PlayMusic"], allowed)
    assert [(s.label, s.start, s.end) for s in free] == [("city", 5, 9)]
    assert [(s.label, s.start, s.end) for s in fixed] == [("artist", 5, 9)]
