#!/usr/bin/env bash
# Builds the libFuzzer harnesses in fuzz/ (clang, ASan + UBSan, in build-fuzz/)
# and runs each for SECONDS on a scratch copy of its seed corpus. Prints
# executions and coverage per harness; exits non-zero if any harness crashed,
# leaked, timed out or ran out of memory (inputs saved under build-fuzz/crashes/).
#
#   scripts/fuzz.sh SECONDS [harness...]       harnesses: config tsv vocab sentencepiece checkpoint serve_request
#
# Environment: XSEQ_FUZZ_BUILD (build directory, default build-fuzz),
# XSEQ_FUZZ_JOBS (build parallelism, default 2), XSEQ_BUILD_LOCK (a file to
# flock around the build, for machines that share a build slot).
# docs/fuzzing.md says more, including how to reproduce a crash.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(config tsv vocab sentencepiece checkpoint serve_request)
if [ $# -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh SECONDS [harness...]   (harnesses: ${ALL[*]})" >&2
  exit 2
fi
seconds=$1
shift
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${ALL[@]}")
for h in "${harnesses[@]}"; do
  if [[ ! " ${ALL[*]} " =~ " $h " ]]; then
    echo "fuzz.sh: unknown harness '$h' (expected one of: ${ALL[*]})" >&2
    exit 2
  fi
done

build=${XSEQ_FUZZ_BUILD:-build-fuzz}
jobs=${XSEQ_FUZZ_JOBS:-2}
locked() { if [ -n "${XSEQ_BUILD_LOCK:-}" ]; then flock "$XSEQ_BUILD_LOCK" "$@"; else "$@"; fi; }

mkdir -p "$build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -DXSEQ_FUZZ=ON -DXSEQ_BUILD_TESTS=OFF -DXSEQ_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$build/fuzz-configure.log" 2>&1 || { cat "$build/fuzz-configure.log" >&2; exit 1; }
fi
targets=()
for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
if ! locked cmake --build "$build" -j "$jobs" "${targets[@]}" > "$build/fuzz-build.log" 2>&1; then
  tail -40 "$build/fuzz-build.log" >&2
  echo "fuzz.sh: building the harnesses failed (log: $build/fuzz-build.log)" >&2
  exit 1
fi

# Sanitizer reports stop the run with a stack; no leak or UB goes unreported.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Leaks inside HDF5 itself on damaged files (see the file) are not xseq's.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
printf '%-14s %12s %8s %8s %8s  %s\n' harness executions cov ft corpus result
for h in "${harnesses[@]}"; do
  crashes="$build/crashes/$h"
  log="$build/fuzz-logs/$h.log"
  mkdir -p "$crashes" "$(dirname "$log")" "$scratch/$h"
  cp -R "fuzz/corpus/$h/." "$scratch/$h/"
  dict=()
  [ -f "fuzz/$h.dict" ] && dict=("-dict=fuzz/$h.dict")
  rc=0
  "$build/fuzz/fuzz_$h" "$scratch/$h" "${dict[@]}" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" > "$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<< "$last")
  result=ok
  if [ "$rc" -ne 0 ]; then
    result="FAILED (exit $rc): $(grep -m1 -E 'ERROR: |SUMMARY: |fuzz invariant failed|runtime error' "$log" || echo 'see log')"
    failed+=("$h")
  fi
  printf '%-14s %12s %8s %8s %8s  %s\n' "$h" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${failed[*]} failed; logs in $build/fuzz-logs/, inputs in $build/crashes/:" >&2
  for h in "${failed[@]}"; do ls -1 "$build/crashes/$h" >&2; tail -40 "$build/fuzz-logs/$h.log" >&2; done
  exit 1
fi
