#!/usr/bin/env bash
# CLINC150 (full data, oos as a class + an energy-score threshold chosen on validation so that validation
# in-scope accuracy stays >= 96%) with all-MiniLM-L6-v2: the acceptance run of docs/nlu.md.
# Usage: trainer/experiments/clinc_full.sh [extra `interplay train classifier` options]
set -euo pipefail
DATA=${DATA:-../shared/data/clinc150}
OUT=${OUT:-runs/clinc_full}
export OMP_NUM_THREADS=${THREADS:-1} HF_HUB_OFFLINE=1 PYTHONPATH=${PYTHONPATH:-$(trainer/experiments/snapshot.sh)}
exec nice -n 10 .venv/bin/python -m interplay.trainer.classifier \
  --train "$DATA/train.csv" --validation "$DATA/validation.csv" --test "$DATA/test.csv" \
  --kind intent --out "$OUT" --epochs 4 --freeze-layers 0 --lr 1e-4 --head-lr 2e-3 --batch-size 32 --max-length 32 --patience 0 \
  --oos-score energy --min-in-scope 0.96 "$@"
