"""Entity tagger on SNIPS (snips_slots): mean per-slot F1, entity micro-F1, int8 vs fp32, joint vs separate.

Stages (each writes bench/results/tagger.json as soon as it ends, so a long run keeps what it finished):
  full      the tagger on the whole training set, exported to int8 and fp32 and scored through ONNX Runtime
  shots70   70 utterances per intent: tagger, plus the joint model and a separate intent classifier
  shots70_long  the 70-per-intent tagger alone, 20 epochs at a higher learning rate
  joint     the whole set: joint model vs tagger + intent classifier, one epoch each

Run with `nice .venv/bin/python bench/tagger.py` (add `--quick` for a smoke run of a few hundred steps).
Baselines are the benchmark's own figures: Snips NLU 0.907 (full set), LUIS/Wit/api.ai/Alexa 0.55-0.64 (70).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

DATA = (
    Path(os.environ.get("INTERPLAY_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    / "snips_slots"
)
RESULTS = Path(__file__).resolve().parent / "results" / "tagger.json"
BASELINES = {"full": 0.907, "shots70": (0.55, 0.64)}


def stage_spec(stage: str, out: Path, quick: bool) -> tuple[Any, Any]:
    """The TaggerSpec and TrainConfig of one stage."""
    from interplay.trainer.classifier.config import TrainConfig
    from interplay.trainer.tagger.run import TaggerSpec

    cap = 30 if quick else None
    common = {"train": DATA / "train.jsonl", "test": DATA / "test.jsonl", "out": out / stage}
    if stage == "full":
        spec = TaggerSpec(**common, max_validation=500)
        cfg = TrainConfig(epochs=2, lr=1e-4, max_length=48, patience=1, max_steps=cap)
    elif stage == "shots70":
        spec = TaggerSpec(**common, shots_per_intent=70, compare=True, export=False)
        cfg = TrainConfig(epochs=10, lr=1e-4, batch_size=16, max_length=48, patience=0, max_steps=cap)
    elif stage == "shots70_long":  # shots70's tagger was still learning at epoch 10: more steps, higher lr
        spec = TaggerSpec(**common, shots_per_intent=70, export=False)
        cfg = TrainConfig(epochs=20, lr=3e-4, batch_size=16, max_length=48, patience=0, max_steps=cap)
    else:  # 500 per intent: what two CPU cores can train three times over in the time there was
        spec = TaggerSpec(**common, mode="joint", compare=True, export=False, shots_per_intent=500)
        cfg = TrainConfig(epochs=2, lr=1e-4, max_length=48, patience=0, max_steps=cap)
    return spec, cfg


def run(stage: str, out: Path, quick: bool) -> dict[str, Any]:
    """One stage, trained and scored."""
    from interplay.trainer.tagger.run import train_tagger

    spec, cfg = stage_spec(stage, out, quick)
    started = time.perf_counter()
    metrics = train_tagger(spec, cfg)
    return headline(metrics, time.perf_counter() - started)


def rescore(stage: str, out: Path) -> dict[str, Any]:
    """Score a finished stage's saved models again (all SNIPS metric variants) without training."""
    from interplay.trainer.tagger.evaluate import predict
    from interplay.trainer.tagger.export import onnx_logits
    from interplay.trainer.tagger.model import JointTagger, encode_tagged
    from interplay.trainer.tagger.run import headline as variants
    from interplay.trainer.tagger.run import load_data, logit_scores
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    spec, cfg = stage_spec(stage, out, quick=False)
    d = load_data(spec, cfg.seed)
    checkpoint = spec.out / "checkpoint"
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    enc = encode_tagged(tokenizer, d.test, {t: i for i, t in enumerate(d.tags)}, {}, cfg.max_length)
    model = JointTagger(AutoModelForTokenClassification.from_pretrained(checkpoint))
    logits = predict(model, enc, batch_size=64, pad_id=tokenizer.pad_token_id or 0, device=torch_cpu())
    scores = {"pytorch": variants(logit_scores(d, enc, logits.tag_logits, None))}
    for name in ("model-fp32", "model"):
        if (spec.out / name / "manifest.json").is_file():
            found = logit_scores(d, enc, onnx_logits(spec.out / name, [e.text for e in d.test]), None)
            scores[f"onnx {json.loads((spec.out / name / 'manifest.json').read_text())['precision']}"] = (
                variants(found)
            )
    return scores


def torch_cpu() -> Any:
    import torch

    return torch.device("cpu")


def headline(m: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The figures quoted from one stage (the run directory keeps the full metrics.json)."""
    test = m["test"]
    out: dict[str, Any] = {
        "mode": m["mode"],
        "train_rows": m["data"]["train"],
        "epochs_run": len(m["history"]),
        "best_epoch": m["best_epoch"],
        "steps": m["steps"],
        "wall_seconds": round(seconds),
        "mean_slot_f1_gold_intent": test["snips_tagger_only"]["mean_slot_f1"],
        "pairs": test["snips_tagger_only"]["pairs"],
        "entity_micro_f1": test["entities"]["micro"]["f1"],
        "entity_macro_f1": test["entities"]["macro"]["f1"],
    }
    if "snips" in test:
        out["mean_slot_f1_predicted_intent"] = test["snips"]["mean_slot_f1"]
        out["intent_accuracy"] = test["intent_accuracy"]
    if "comparison" in m:
        out["comparison"] = m["comparison"]
    if "export" in m:
        e = m["export"]
        out["onnx"] = e["onnx_scores"]
        out["parity"] = e["parity"]
        scores = e["onnx_scores"]
        if "int8" in scores:
            out["int8_minus_fp32_points"] = {
                k: round(100 * (scores["int8"][k] - scores["fp32"][k]), 3) for k in scores["fp32"]
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 optimizer steps per model (smoke run)")
    parser.add_argument("--stages", default="full,shots70,joint")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-tagger"))
    parser.add_argument("--rescore", action="store_true", help="score the stages' saved models again")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() and not args.quick else {}
    results["baselines"] = BASELINES
    for stage in args.stages.split(","):
        if args.rescore:
            results[stage]["rescored"] = rescore(stage, args.out)
            print(stage, json.dumps(results[stage]["rescored"], indent=1), flush=True)
            RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
            continue
        results[stage] = run(stage, args.out, args.quick)
        print(
            f"{stage:8} mean per-slot F1 {100 * results[stage]['mean_slot_f1_gold_intent']:.2f}  "
            f"entity micro-F1 {100 * results[stage]['entity_micro_f1']:.2f}  "
            f"({results[stage]['wall_seconds']} s)",
            flush=True,
        )
        if not args.quick:
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
