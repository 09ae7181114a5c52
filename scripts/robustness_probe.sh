#!/usr/bin/env bash
# Throws bad input and faults at build/xseq the way typos and clusters do, and
# prints a table: input class, cases tried, clear errors, crashes, data lost.
#
#   bash scripts/robustness_probe.sh [--flips N] [--kills N]
#
# A case is a "clear error" when xseq exits 1 or 2 with an "error: ..." line,
# "accepted" when it exits 0 (input it can use, e.g. CRLF line ends), "crash" when it dies by a signal, aborts or hangs (20 s),
# and "lost" when a checkpoint that existed before the case no longer loads or
# changed. The full-disk class mounts small tmpfs file systems and needs root;
# without root it is skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
XSEQ="$PWD/build/xseq"
FLIPS=20
KILLS=10
while [ $# -gt 0 ]; do
  case "$1" in
    --flips) FLIPS="$2"; shift 2 ;;
    --kills) KILLS="$2"; shift 2 ;;
    *) echo "usage: $0 [--flips N] [--kills N]" >&2; exit 2 ;;
  esac
done
[ -x "$XSEQ" ] || { echo "build xseq first (cmake --build build)" >&2; exit 2; }
WORK="$(mktemp -d)"
trap 'umount "$WORK"/disk-* 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"

declare -A TRIED CLEAR OK CRASH LOST
CLASSES=()
note() {  # note CLASS OUTCOME [lost]
  local c="$1"
  if [ -z "${TRIED[$c]+x}" ]; then CLASSES+=("$c"); TRIED[$c]=0; CLEAR[$c]=0; OK[$c]=0; CRASH[$c]=0; LOST[$c]=0; fi
  TRIED[$c]=$((TRIED[$c] + 1))
  case "$2" in
    clear) CLEAR[$c]=$((CLEAR[$c] + 1)) ;;
    accepted) OK[$c]=$((OK[$c] + 1)) ;;
    crash) CRASH[$c]=$((CRASH[$c] + 1)) ;;
  esac
  return 0
}
lose() { LOST[$1]=$((LOST[$1] + 1)); echo "DATA LOST ($1): $2" >&2; }

# probe CLASS [stdin-file] -- args...: runs xseq and classifies the outcome.
probe() {
  local class="$1"; shift
  local input=/dev/null
  if [ "$1" != "--" ]; then input="$1"; shift; fi
  shift
  timeout -s KILL 20 "$XSEQ" "$@" < "$input" > out.txt 2> err.txt
  local code=$?
  local outcome=clear
  [ $code -eq 0 ] && outcome=accepted
  if [ $code -ge 128 ] || grep -q -E "terminate called|Aborted|AddressSanitizer|runtime error" err.txt; then
    outcome=crash
  elif [ $code -ne 0 ] && ! grep -q "^error: " err.txt; then
    outcome=crash  # failed without saying why
  fi
  if [ "$outcome" = crash ]; then
    echo "CRASH ($class, exit $code): xseq $*" >&2
    tail -3 err.txt >&2
  fi
  note "$class" "$outcome"
}

tiny_config() {
  cat <<'EOF'
[data]
task = "copy"
task_train = 300
task_valid = 30
task_test = 30
task_min_len = 2
task_max_len = 6
task_alphabet = "abcdef"
max_len = 12
[model]
d_model = 32
heads = 2
ff_dim = 64
encoder_layers = 1
decoder_layers = 1
[train]
batch_size = 16
max_steps = 30
valid_every = 10
checkpoint_every = 10
log_every = 10
threads = 1
EOF
}
tiny_config > tiny.toml
printf 'abc\tabc\nbca\tbca\n' > test.tsv
"$XSEQ" train tiny.toml --out run > /dev/null 2>&1 || { echo "could not train the probe model" >&2; exit 1; }
CKPT="$PWD/run/best.h5"

probe_flags() {
  local c="flags (translate, eval, train, bench, data, demo)"
  for v in abc "" 1e999 0.6x -1 nan inf; do probe "$c" -- translate --checkpoint "$CKPT" --alpha "$v"; done
  for v in 0 -3 4294967297 2.5 x ""; do probe "$c" -- eval --checkpoint "$CKPT" --data test.tsv --beam "$v"; done
  for v in -1 4294967297 1e3 x; do probe "$c" -- translate --checkpoint "$CKPT" --threads "$v"; done
  for v in 0 -1 99999999999; do probe "$c" -- eval --checkpoint "$CKPT" --data test.tsv --batch "$v"; done
  probe "$c" -- translate --checkpoint "$CKPT" --input /tmp
  probe "$c" -- translate --checkpoint "$CKPT" --input /no/such/file
  probe "$c" -- translate --checkpoint "$CKPT" --bogus 1
  probe "$c" -- eval --checkpoint "$CKPT"
  probe "$c" -- train
  probe "$c" -- train tiny.toml --set
  probe "$c" -- train tiny.toml --out run-x --resume
  probe "$c" -- bench tiny.toml --steps 0
  probe "$c" -- data make nosuchtask --out d
  probe "$c" -- data make copy --out d --train -5
  probe "$c" -- demo --steps abc
  probe "$c" -- frobnicate
}

probe_outputs() {
  local c="output paths (--out, --json, --hyps, --alignments)"
  touch a-file
  probe "$c" -- train tiny.toml --out a-file/run
  probe "$c" -- train tiny.toml --out /proc/xseq-run
  probe "$c" -- eval --checkpoint "$CKPT" --data test.tsv --json a-file/m.json
  probe "$c" -- eval --checkpoint "$CKPT" --data test.tsv --hyps /proc/h.txt
  echo abc > in.txt
  probe "$c" in.txt -- translate --checkpoint "$CKPT" --alignments a-file/x.jsonl
  probe "$c" in.txt -- translate --checkpoint "$CKPT" --attention-svg a-file/svg
  probe "$c" -- report run --out /proc/r.html
}

probe_config_values() {
  local c="config values (--set)"
  for s in model.d_model=1e9 model.d_model=1000000000 model.d_model=100000000000000000 model.encoder_layers=1000000 \
           train.threads=4294967297 model.heads=0 model.heads=3 train.lr=abc train.lr=-1 train.batch_size=0 \
           train.batch_size=10000000000 data.max_len=-1 model.dropout=1.5 model.type=nosuch train.bogus=1 \
           'data.task_alphabet="a\u0001b"' 'data.task_alphabet="a\u0000b"' data.vocab_size=1000000000000 \
           model.ff_dim=1000000000 train.max_steps=0 'model.d_model=[1,2]' 'train.out_dir=""' model.hidden=1e9; do
    probe "$c" -- train tiny.toml --set "$s" --out run-cfg
  done
}

probe_config_files() {
  local c="config files"
  : > empty.toml; probe "$c" -- train empty.toml --out run-cf
  head -c 2000 /dev/urandom > garbage.toml; probe "$c" -- train garbage.toml --out run-cf
  head -c 120 tiny.toml > cut.toml; probe "$c" -- train cut.toml --out run-cf
  printf '[model]\nd_model = 32\x00\n' > nul.toml; probe "$c" -- train nul.toml --out run-cf
  printf '[model\n' > broken.toml; probe "$c" -- train broken.toml --out run-cf
  printf '[data]\ntrain = "no/such.tsv"\n' > missing.toml; probe "$c" -- train missing.toml --out run-cf
  printf '[data]\ntrain = "/tmp"\n' > dirdata.toml; probe "$c" -- train dirdata.toml --out run-cf
  mkdir -p adir; probe "$c" -- config adir
}

probe_data_files() {
  local c="data files (TSV, eval/stats)"
  printf 'ab\x00c\tabc\n' > nul.tsv
  printf 'abc\tab\x01c\n' > ctrl.tsv
  printf 'abc abc\n' > notab.tsv
  printf 'a\tb\tc\n' > threecols.tsv
  printf '\xff\xfe\tabc\n' > utf8.tsv
  : > empty.tsv
  printf 'abc\tabc\r\nbca\tbca\r\n' > crlf.tsv
  { printf 'abc\tabc\n'; head -c 1048576 /dev/zero | tr '\0' a; printf '\tabc\n'; } > long.tsv
  head -c 5000 /dev/urandom > random.tsv
  for f in nul ctrl notab threecols utf8 empty crlf long random; do
    probe "$c" -- eval --checkpoint "$CKPT" --data "$f.tsv"
    probe "$c" -- data stats "$f.tsv"
  done
  probe "$c" -- eval --checkpoint "$CKPT" --data test.tsv,no-such.tgt
}

probe_translate_input() {
  local c="translate input (stdin)"
  printf 'abc\n\xff\xfe\ncab\n' > bad-utf8.txt
  printf 'ab\x00c\n' > nul.txt
  head -c 20000 /dev/zero | tr '\0' a > long.txt; echo >> long.txt
  printf '\n\n\n' > blank.txt
  head -c 3000 /dev/urandom > random.txt
  printf 'abc\r\n' > crlf.txt
  for f in bad-utf8 nul long blank random crlf; do
    probe "$c" "$f.txt" -- translate --checkpoint "$CKPT"
    probe "$c" "$f.txt" -- translate --checkpoint "$CKPT" --beam 4
  done
}

# A checkpoint whose bytes were changed must fail to load with a clear error, or
# (a byte the file does not use) give exactly the original metrics.
probe_checkpoint_flips() {
  local c="checkpoint bytes flipped ($FLIPS random)"
  "$XSEQ" eval --checkpoint "$CKPT" --data test.tsv --json ref.json > /dev/null 2>&1
  local size; size=$(stat -c %s "$CKPT")
  for i in $(seq 1 "$FLIPS"); do
    cp "$CKPT" flip.h5
    local offset=$(( (RANDOM * 32768 + RANDOM) % size ))
    local byte; byte=$(od -An -tu1 -j "$offset" -N1 flip.h5 | tr -d ' ')
    printf "$(printf '\\%03o' $(( (byte + 1 + RANDOM % 254) % 256 )))" | dd of=flip.h5 bs=1 seek="$offset" conv=notrunc status=none
    probe "$c" -- eval --checkpoint flip.h5 --data test.tsv --json flip.json
    if [ -s flip.json ] && ! diff <(tr ',' '\n' < ref.json | grep -v per_s) <(tr ',' '\n' < flip.json | grep -v per_s) > /dev/null; then
      lose "$c" "an undetected flip at byte $offset changed the metrics"
    fi
    rm -f flip.json
  done
}

probe_checkpoint_files() {
  local c="checkpoint files (truncated, foreign, missing)"
  local size; size=$(stat -c %s "$CKPT")
  for cut in 0 100 1000 $((size / 2)) $((size - 10)); do
    head -c "$cut" "$CKPT" > cut.h5; probe "$c" -- eval --checkpoint cut.h5 --data test.tsv
  done
  probe "$c" -- eval --checkpoint tiny.toml --data test.tsv
  probe "$c" -- eval --checkpoint /tmp --data test.tsv
  probe "$c" -- eval --checkpoint no-such.h5 --data test.tsv
  probe "$c" -- train tiny.toml --out empty-run --resume
}

# Every save on a file system with too little room: the checkpoints already on
# disk must stay loadable and unchanged.
probe_full_disk() {
  local c="full disk (tmpfs of 1-8 MiB)"
  [ "$(id -u)" -eq 0 ] || { echo "skipping the full-disk class: needs root to mount tmpfs" >&2; return; }
  for mib in 1 2 3 4 6 8; do
    local d="$WORK/disk-$mib"
    mkdir -p "$d" && mount -t tmpfs -o size=${mib}m tmpfs "$d" || { echo "cannot mount tmpfs" >&2; return; }
    cp run/best.h5 run/last.h5 "$d"/ 2>/dev/null
    # A bigger model so that one checkpoint is about a MiB.
    probe "$c" -- train tiny.toml --set model.d_model=128 --set model.ff_dim=256 --set train.max_steps=40 --out "$d"
    for f in best.h5 last.h5; do
      [ -f "$d/$f" ] || { lose "$c" "$f is gone from a $mib MiB disk"; continue; }
      "$XSEQ" eval --checkpoint "$d/$f" --data test.tsv > /dev/null 2>&1 || lose "$c" "$f no longer loads ($mib MiB)"
    done
    ls "$d" | grep -q tmp- && lose "$c" "temporary files left on a $mib MiB disk"
    umount "$d"
  done
}

# kill -9 at random moments: last.h5 must always load, and --resume go on from it.
probe_kills() {
  local c="kill -9 during training, then --resume ($KILLS)"
  for i in $(seq 1 "$KILLS"); do
    rm -rf kill-run
    "$XSEQ" train tiny.toml --set train.max_steps=100000 --set train.checkpoint_every=3 --out kill-run > /dev/null 2>&1 &
    local pid=$!
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.5 + (r % 100) / 50 }')"
    kill -9 "$pid" 2> /dev/null; wait "$pid" 2> /dev/null
    [ -f kill-run/last.h5 ] || continue
    # The resumed run is stopped by SIGTERM (exit 143 is the expected, clean outcome).
    timeout --preserve-status -s TERM 2 "$XSEQ" train tiny.toml --set train.max_steps=100000 --set train.checkpoint_every=3 \
      --out kill-run --resume > /dev/null 2> err.txt
    local code=$?
    if [ $code -eq 143 ] || [ $code -eq 0 ]; then note "$c" accepted; else note "$c" crash; tail -2 err.txt >&2; fi
    "$XSEQ" eval --checkpoint kill-run/last.h5 --data test.tsv > /dev/null 2>&1 || lose "$c" "last.h5 does not load after kill $i"
  done
}

probe_flags
probe_outputs
probe_config_values
probe_config_files
probe_data_files
probe_translate_input
probe_checkpoint_flips
probe_checkpoint_files
probe_full_disk
probe_kills

echo
echo "| input class | cases | clear errors | accepted (exit 0) | crashes | data lost |"
echo "|---|---|---|---|---|---|"
total_crash=0; total_lost=0
for c in "${CLASSES[@]}"; do
  echo "| $c | ${TRIED[$c]} | ${CLEAR[$c]} | ${OK[$c]} | ${CRASH[$c]} | ${LOST[$c]} |"
  total_crash=$((total_crash + CRASH[$c])); total_lost=$((total_lost + LOST[$c]))
done
[ $total_crash -eq 0 ] && [ $total_lost -eq 0 ]
