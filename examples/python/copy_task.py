#!/usr/bin/env python3
"""Train the copy task for a few hundred steps, translate, evaluate, and plot the
validation curve from log.jsonl (docs/python.md).

    PYTHONPATH=build/python /usr/bin/python3 examples/python/copy_task.py [--steps 300] [--out runs/py-copy]

The plot (validation.png in the run directory) needs matplotlib (Debian's
python3-matplotlib); without it the script says so and skips the plot.
"""
import argparse
import json
import os
import sys

import xseq

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "..", "..", "configs", "copy-transformer.toml")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", default="runs/py-copy")
    args = parser.parse_args()

    # Train: the CLI's trainer, with --set style overrides; print each validation.
    def show(record: dict) -> bool:
        if record.get("valid"):  # a validation record (docs/log.md lists every field)
            print(f"step {record['step']}: valid exact match {record['exact_match']:.3f}")
        return True

    valid_every = max(args.steps // 4, 1)
    result = xseq.train(CONFIG, out=args.out, callback=show,
                        overrides={"train.max_steps": args.steps, "train.valid_every": valid_every,
                                   "train.checkpoint_every": valid_every})
    print(f"stopped ({result.stop_reason}) after {result.steps} steps in {result.run_dir}")

    # Translate with the best checkpoint: beam search, the 2 best of each.
    best = os.path.join(result.run_dir, "best.h5")
    translator = xseq.Translator(best, beam=4, n_best=2)
    for t in translator.translate(["hello", "attention", "xseq"]):
        print(f"{' '.join(t.source_tokens):>20} -> {t.text:<12} (log p {t.score:.3f}; "
              f"runner-up {t.hypotheses[-1].text!r})")

    # Evaluate on a few pairs: the keys and values `xseq eval --json` writes.
    test = os.path.join(result.run_dir, "pairs.tsv")
    with open(test, "w") as f:
        f.write("".join(f"{w}\t{w}\n" for w in ["abc", "copy", "sequence", "model", "cpu"]))
    metrics = xseq.evaluate(best, test)
    print("eval:", {k: round(v, 3) for k, v in metrics.items() if k in ("exact_match", "bleu", "chrf", "loss")})

    # The validation curve from log.jsonl.
    steps, exact = [], []
    with open(os.path.join(result.run_dir, "log.jsonl")) as log:
        for line in log:
            record = json.loads(line)
            if record.get("valid"):
                steps.append(record["step"])
                exact.append(record["exact_match"])
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (apt-get install python3-matplotlib): skipping the plot")
        return 0
    plt.figure(figsize=(5, 3))
    plt.plot(steps, exact, marker="o")
    plt.xlabel("step")
    plt.ylabel("validation exact match")
    plt.title("copy task")
    plt.tight_layout()
    png = os.path.join(result.run_dir, "validation.png")
    plt.savefig(png)
    print("wrote", png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
