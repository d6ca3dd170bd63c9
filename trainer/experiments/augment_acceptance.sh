#!/usr/bin/env bash
# The #8 acceptance run: CLINC150 (150 intents), 5 and 10 shots, seeds 1-3, every arm x (fine-tuning,
# GAN-BERT). Six jobs (shots x seed), two at a time (one per core, one torch thread each), 5-shot first;
# then one merged table in bench/results/augment.{json,md}. The 10-shot runs train half the epochs
# (twice the labeled rows per epoch: the same number of steps) and only with fine-tuning: GAN-BERT at
# 10 shots did not fit the session's time on 2 cores. JOBS="5 3,10 1" runs a subset (then merge by hand: bench/augment.py --merge ...).
# Run from the repository root: trainer/experiments/augment_acceptance.sh
set -euo pipefail
PY=${PY:-$PWD/.venv/bin/python}
SNAP=$(SNAP=${SNAP:-/tmp/interplay-augment-snap} trainer/experiments/snapshot.sh)
export PYTHONPATH=$SNAP TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1
mkdir -p bench/results/augment_parts
job() {
  local shots=$1 seed=$2 extra=""
  [ "$shots" = 10 ] && extra="--epochs 4 --modes plain"
  # shellcheck disable=SC2086
  "$PY" bench/augment.py --shots "$shots" --seeds "$seed" $extra --out "runs/augment/${shots}s${seed}" \
    --results "bench/results/augment_parts/${shots}shot_seed${seed}.json" \
    > "runs/augment/${shots}s${seed}.log" 2>&1
  echo "$(date -u +%H:%M:%S) done ${shots}-shot seed ${seed}"
}
export -f job
export PY
mkdir -p runs/augment
echo "$(date -u +%H:%M:%S) start"
JOBS=${JOBS:-5 1,5 2,5 3,10 1,10 2,10 3}
tr ',' '\n' <<< "$JOBS" | xargs -P 2 -L 1 bash -c 'job $0 $1'
[ -n "${NO_MERGE:-}" ] || "$PY" bench/augment.py --merge bench/results/augment_parts/*shot_seed*.json --results bench/results/augment.json
