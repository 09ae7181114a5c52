#!/usr/bin/env python3
"""The Python side of bench/python_overhead.sh: times xseq.Translator.translate
on the lines of a file, as build/bench_translator does through the C++ API.
    PYTHONPATH=build/python /usr/bin/python3 bench/bench_translator.py CHECKPOINT LINES [REPS] [BATCH] [THREADS]
"""
import json
import statistics
import sys
import time

import xseq

checkpoint, path = sys.argv[1], sys.argv[2]
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 32
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
translator = xseq.Translator(checkpoint, batch_size=batch, threads=threads)
lines = open(path).read().splitlines()
translator.translate(lines[:32])
ms = []
for _ in range(reps):
    start = time.perf_counter()
    out = translator.translate(lines)
    ms.append((time.perf_counter() - start) * 1000)
    assert len(out) == len(lines)
print(json.dumps({"api": "python", "sentences": len(lines), "median_ms": round(statistics.median(ms), 2)}))
