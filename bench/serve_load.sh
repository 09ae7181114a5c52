#!/usr/bin/env bash
# Load and soak benchmark of xseq serve (docs/serve.md), on 127.0.0.1 only:
#  1. offline: `xseq translate --batch 64` over the test sentences repeated to
#     5,000 (sentences/s, the median of 3 runs), and each sentence translated
#     alone through the C++ API (p50/p99 ms);
#  2. wrk with 1, 4, 16 and 64 concurrent clients, one sentence per request,
#     DURATION seconds each: throughput, p50/p99 latency, and the CPU cores the
#     server and wrk used (on a small machine the load generator takes its share);
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
sentences=$(wc -l < "$tmp/lines.txt")
for _ in $(seq 10); do cat "$tmp/lines.txt"; done | head -n 5000 > "$tmp/offline.txt"
offline_n=$(wc -l < "$tmp/offline.txt")

# 1. Offline (the median of 3 runs).
runs=""
for _ in 1 2 3; do
  s=$(date +%s.%N)
  "$xseq" translate --checkpoint "$model" --batch 64 --threads "$threads" < "$tmp/offline.txt" > /dev/null
  e=$(date +%s.%N)
  runs+="$(awk -v s="$s" -v e="$e" -v n="$offline_n" 'BEGIN {printf "%.1f", n / (e - s)}')"$'\n'
done
offline=$(printf '%s' "$runs" | sort -n | sed -n 2p)
alone=$(build/bench_translator "$model" "$tmp/lines.txt" each 1 "$threads")

# 2. The server under load.
"$xseq" serve --checkpoint "$model" --port 0 --ready-file "$tmp/port" --threads "$threads" 2> "$tmp/server.log" &
server=$!
for _ in $(seq 200); do [ -f "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")
url="http://127.0.0.1:$port"
rows=""
rps16=100
cores=$(nproc)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, in 1/100 s
for c in 1 4 16 64; do
  t=$(( c < cores ? c : cores ))
  before=$(ticks "$server")
  out=$( (WRK_THREADS=$t command time -f "wrk-cpu %U %S" wrk -t "$t" -c "$c" -d "${duration}s" --latency \
    -s bench/serve_load.lua "$url") 2>&1)
  server_cpu=$(awk -v a="$(ticks "$server")" -v b="$before" -v d="$duration" 'BEGIN {printf "%.2f", (a - b) / 100 / d}')
  wrk_cpu=$(echo "$out" | awk -v d="$duration" '$1 == "wrk-cpu" {printf "%.2f", ($2 + $3) / d}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $NF} /Socket errors/ {print}' | tr '\n' ' ')
  [ "$c" = 16 ] && rps16=$rps
  rows+="| $c | $rps | $(awk -v a="$rps" -v b="$offline" 'BEGIN {printf "%.0f%%", 100 * a / b}') | $p50 | $p99 | $server_cpu | $wrk_cpu | ${errors:-0} |"$'\n'
done

# 3. Soak: bounded by count (each wrk thread stops after its share) and by time
# (wrk's own duration, from the throughput at 16 clients with a margin; wrk waits
# it out even when its threads stopped early).
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
seconds_for() { awk -v n="$1" -v r="$rps16" 'BEGIN {s = int(1.25 * n / (r > 1 ? r : 1)) + 5; print (s > 1800 ? 1800 : s)}'; }
WRK_THREADS=$cores MAX_REQUESTS=20000 wrk -t "$cores" -c 16 -d "$(seconds_for 20000)s" -s bench/serve_load.lua "$url" > /dev/null  # warm-up
before=$(rss)
soak_out=$(WRK_THREADS=$cores MAX_REQUESTS="$soak" wrk -t "$cores" -c 16 -d "$(seconds_for "$soak")s" -s bench/serve_load.lua "$url")
after=$(rss)
done_requests=$(echo "$soak_out" | awk '/requests in/ {print $1}')
failed=$(echo "$soak_out" | awk '/Non-2xx/ {s += $NF} /Socket errors/ {for (i = 4; i <= NF; i += 2) s += $i} END {print s + 0}')

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo "$cpu ($cores cores, $(build/xseq --version 2>/dev/null | head -1)), $threads decoding threads, copy-transformer (300 steps), $sentences test sentences, ${duration} s per row"
echo
echo "Offline: xseq translate --batch 64 over $offline_n sentences: $offline sentences/s (median of 3); each sentence alone (C++ API): $alone"
echo
echo "| clients | requests/s (= sentences/s) | of offline | p50 | p99 | server CPU (cores) | wrk CPU (cores) | errors |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s' "$rows"
echo
echo "Soak: $done_requests requests at 16 clients, $failed failed; resident memory $before kB after warm-up, $after kB at the end ($(awk -v a="$after" -v b="$before" 'BEGIN {printf "%+.1f%%", 100 * (a - b) / b}'))"
