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
