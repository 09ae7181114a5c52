#!/usr/bin/env bash
# 1 process x 2 threads (train.accumulate = 2) against 2 processes x 1 thread under
# mpirun, the same batches per update, alternating; prints one RESULT line per run
# (tokens/s after the first progress window, the gradient sum's ms per update and MB).
# Usage: scripts/distributed_speed.sh CONFIG NAME REPS STEPS   (docs/distributed.md)
set -u
X=${XSEQ:-build/xseq}; C=$1; N=$2; REPS=$3; STEPS=$4; OUT=${OUT:-/tmp/xseq-distributed-speed}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
SETS="--set data.task_train=4000 --set data.task_valid=8 --set data.task_test=8 --set data.task_min_len=31
      --set data.task_max_len=31 --set train.max_steps=$STEPS --set train.log_every=4
      --set train.valid_every=100000 --set train.checkpoint_every=100000"
for r in $(seq "$REPS"); do
  rm -rf "$OUT-$N-1p" "$OUT-$N-2p"
  $X train "$C" --out "$OUT-$N-1p" --threads 2 --set train.accumulate=2 $SETS > /dev/null 2>&1
  mpirun -np 2 --oversubscribe --bind-to none --mca btl self,tcp \
    $X train "$C" --out "$OUT-$N-2p" --threads 1 $SETS > /dev/null 2>&1
  for v in 1p 2p; do
    python3 - "$OUT-$N-$v/log.jsonl" "$N" "$v" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"tokens_per_s"' in l and '"valid"' not in l and '"test"' not in l]
lines = lines[1:]  # the first window warms up
tps = sum(l["tokens_per_s"] for l in lines) / len(lines)
ar = [l["allreduce_ms"] for l in lines if "allreduce_ms" in l]
mb = [l["allreduce_mb"] for l in lines if "allreduce_mb" in l]
print(f"RESULT {sys.argv[2]} {sys.argv[3]} tok/s {tps:.0f} allreduce_ms {sum(ar) / len(ar) if ar else 0:.1f} MB {mb[0] if mb else 0}")
PY
  done
done
