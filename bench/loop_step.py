"""Where one learning-loop training step's time goes on the real generator, by LoRA placement.

    python bench/loop_step.py        # SmolLM2-135M, a batch of 8 x (48 prompt + 41 reply) tokens

Times a no-grad forward (what the KTO reference and the mismatched-pair estimate cost) and a forward
plus backward (the training step's core), bf16 autocast, for LoRA r16 on every projection of every
layer (the baseline), on the top half of the layers (the default, `lora_layers = 0.5`), and on q/v
only. Results: bench/results/loop_step.json, with the machine's conditions (bench/conditions.py).
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import torch
from conditions import Conditions  # bench/ is not a package: its sibling module, by path

OUT = Path(__file__).parent / "results" / "loop_step.json"
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def main() -> None:
    from interplay.core.config import load_config
    from interplay.plugins.onnx_generator import OnnxGenerator
    from interplay.trainer.loop import train
    from interplay.trainer.loop.examples import TokenizedExample
    from interplay.trainer.loop.objective import collate, reply_distributions, reply_logps
    from peft import LoraConfig, get_peft_model

    conditions = Conditions()
    root = OnnxGenerator.model_home.root(load_config().models_dir)
    model, _ = train._load_source(train.base_source(root))
    torch.manual_seed(0)
    batch = collate([TokenizedExample(prompt=torch.randint(100, 40000, (48,)).tolist(),
                                      reply=torch.randint(100, 40000, (41,)).tolist(), good=i % 3 == 0,
                                      weight=1.0) for i in range(8)], 0)

    def timed(fn: object, n: int = 3) -> float:
        fn()  # type: ignore[operator]
        start = time.perf_counter()
        for _ in range(n):
            fn()  # type: ignore[operator]
        return (time.perf_counter() - start) / n

    layers = model.config.num_hidden_layers
    rows = {}
    for label, targets, chosen in [("all projections, all layers (baseline)", PROJECTIONS, None),
                                   ("all projections, top half of the layers (default)", PROJECTIONS,
                                    list(range(layers - layers // 2, layers))),
                                   ("q_proj and v_proj, all layers", ["q_proj", "v_proj"], None)]:
        config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=targets,
                            task_type="CAUSAL_LM", layers_to_transform=chosen)
        peft_model = get_peft_model(copy.deepcopy(model), config).train()

        def forward(m: object = peft_model) -> None:
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
                reply_logps(m, batch)

        def step(m: object = peft_model) -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logp, _, targets_ = reply_distributions(m, batch)
                loss = -logp.gather(1, targets_.unsqueeze(-1)).mean()
            loss.backward()

        rows[label] = {"no-grad forward s": round(timed(forward), 3),
                       "forward + backward s": round(timed(step), 3)}
        print(f"{label:52} forward {rows[label]['no-grad forward s']:.2f} s, "
              f"forward + backward {rows[label]['forward + backward s']:.2f} s", flush=True)
    result = {"model": "SmolLM2-135M-Instruct", "batch": "8 x (48 + 41) tokens", "autocast": "bf16",
              "threads": torch.get_num_threads(), "rows": rows, "conditions": conditions.finish()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {OUT}; under load: {result['conditions']['under_load']}")


if __name__ == "__main__":
    main()
