#!/usr/bin/env bash
# The default build on a CPU without AVX: qemu-x86_64 -cpu Nehalem (SSE4.2, no
# AVX; Debian's qemu-user) runs build/xseq, which must start, report the generic
# kernels, train a few steps and translate. A kernel compiled for AVX that ran
# outside its dispatch would die here with SIGILL.
#   bash tests/portable_smoke.sh BUILD/xseq SOURCE_DIR
set -euo pipefail
xseq=$1
src=$2
command -v qemu-x86_64 > /dev/null || {
  echo "portable_smoke: qemu-x86_64 is not installed (scripts/install-deps.sh installs qemu-user)" >&2
  exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# OpenBLAS must pick its kernels from what the emulated CPU reports too.
unset OPENBLAS_CORETYPE XSEQ_ISA
q=(qemu-x86_64 -cpu Nehalem)

"${q[@]}" "$xseq" version | tee "$tmp/version"
grep -q "kernels: generic (this CPU: up to generic)" "$tmp/version"

"${q[@]}" "$xseq" train "$src/configs/copy-transformer.toml" --threads 1 \
  --set data.task_train=200 --set data.task_valid=8 --set data.task_test=8 --set model.d_model=32 \
  --set model.ff_dim=64 --set train.batch_size=8 --set train.max_steps=4 --set train.valid_every=4 \
  --set train.checkpoint_every=4 --set train.log_every=2 --out "$tmp/run" > "$tmp/train.log" 2>&1 ||
  { cat "$tmp/train.log"; exit 1; }
grep '"step":4' "$tmp/run/log.jsonl" | head -1
test -f "$tmp/run/best.h5"
printf 'abc\nhello\n' | "${q[@]}" "$xseq" translate --checkpoint "$tmp/run/best.h5" --threads 1 > "$tmp/out.txt"
test "$(wc -l < "$tmp/out.txt")" -eq 2
echo "portable_smoke: trained and translated under qemu-x86_64 -cpu Nehalem"
