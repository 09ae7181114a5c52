#!/usr/bin/env bash
# Load and soak benchmark of xseq serve (docs/serve.md), on 127.0.0.1 only:
#  1. offline: `xseq translate --batch 64` over 1,000 sentences (sentences/s),
#     and each sentence translated alone through the C++ API (p50/p99 ms);
#  2. wrk with 1, 4, 16 and 64 concurrent clients, one sentence per request,
#     DURATION seconds each: throughput and p50/p99 latency;
#  3. a soak of SOAK requests at 16 clients: failed requests and the server's
#     resident memory after warm-up and at the end.
# Every loop is bounded in count and time and stops by itself.
#   bash bench/serve_load.sh [DURATION=10] [SOAK=200000] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
soak=${2:-200000}
threads=${3:-2}
xseq=${XSEQ:-build/xseq}
tmp=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
command -v wrk > /dev/null || { echo "serve_load.sh: wrk is not installed (scripts/install-deps.sh)" >&2; exit 1; }

model=${MODEL:-}
if [ -z "$model" ]; then
  "$xseq" train configs/copy-transformer.toml --set train.max_steps=300 --set train.valid_every=300 \
    --set train.checkpoint_every=300 --out "$tmp/model" > /dev/null 2>&1
  model="$tmp/model/best.h5"
fi
"$xseq" data make copy --out "$tmp/data" > /dev/null 2>&1
head -n 1000 "$tmp/data/test.tsv" | cut -f1 > "$tmp/lines.txt"
export SENTENCES="$tmp/lines.txt"

# 1. Offline.
s=$(date +%s.%N)
"$xseq" translate --checkpoint "$model" --batch 64 --threads "$threads" < "$tmp/lines.txt" > /dev/null
e=$(date +%s.%N)
offline=$(awk -v s="$s" -v e="$e" 'BEGIN {printf "%.1f", 1000 / (e - s)}')
alone=$(build/bench_translator "$model" "$tmp/lines.txt" each 1 "$threads")

# 2. The server under load.
"$xseq" serve --checkpoint "$model" --port 0 --ready-file "$tmp/port" --threads "$threads" 2> "$tmp/server.log" &
server=$!
for _ in $(seq 200); do [ -f "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")
url="http://127.0.0.1:$port"
rows=""
rps16=100
for c in 1 4 16 64; do
  t=$(( c < 4 ? c : 4 ))
  out=$(WRK_THREADS=$t wrk -t "$t" -c "$c" -d "${duration}s" --latency -s bench/serve_load.lua "$url")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $NF} /Socket errors/ {print}' | tr '\n' ' ')
  [ "$c" = 16 ] && rps16=$rps
  rows+="| $c | $rps | $(awk -v a="$rps" -v b="$offline" 'BEGIN {printf "%.0f%%", 100 * a / b}') | $p50 | $p99 | ${errors:-0} |"$'\n'
done

# 3. Soak: bounded by count (each wrk thread stops after its share) and by time
# (wrk's own duration, from the throughput at 16 clients with a margin; wrk waits
# it out even when its threads stopped early).
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
seconds_for() { awk -v n="$1" -v r="$rps16" 'BEGIN {s = int(1.25 * n / (r > 1 ? r : 1)) + 5; print (s > 1800 ? 1800 : s)}'; }
WRK_THREADS=4 MAX_REQUESTS=20000 wrk -t 4 -c 16 -d "$(seconds_for 20000)s" -s bench/serve_load.lua "$url" > /dev/null  # warm-up
before=$(rss)
soak_out=$(WRK_THREADS=4 MAX_REQUESTS="$soak" wrk -t 4 -c 16 -d "$(seconds_for "$soak")s" -s bench/serve_load.lua "$url")
after=$(rss)
done_requests=$(echo "$soak_out" | awk '/requests in/ {print $1}')
failed=$(echo "$soak_out" | awk '/Non-2xx/ {s += $NF} /Socket errors/ {for (i = 4; i <= NF; i += 2) s += $i} END {print s + 0}')

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo "$cpu, $threads decoding threads, copy-transformer (300 steps), 1,000 test sentences, ${duration} s per row"
echo
echo "Offline: xseq translate --batch 64: $offline sentences/s; each sentence alone (C++ API): $alone"
echo
echo "| clients | requests/s (= sentences/s) | of offline | p50 | p99 | errors |"
echo "|---|---|---|---|---|---|"
printf '%s' "$rows"
echo
echo "Soak: $done_requests requests at 16 clients, $failed failed; resident memory $before kB after warm-up, $after kB at the end ($(awk -v a="$after" -v b="$before" 'BEGIN {printf "%+.1f%%", 100 * (a - b) / b}'))"
