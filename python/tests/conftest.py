"""Fixtures of the xseq Python tests: a tiny trained model (made once per
session with xseq.train), the CLI to compare against, scratch directories."""
import os
import subprocess

import pytest

import xseq

TINY = {
    "data": {"task": "copy", "task_train": 300, "task_valid": 30, "task_test": 30, "task_min_len": 2,
             "task_max_len": 6, "task_alphabet": "abcdef", "max_len": 12},
    "model": {"d_model": 32, "heads": 2, "ff_dim": 64, "encoder_layers": 1, "decoder_layers": 1, "dropout": 0.1},
    "train": {"batch_size": 16, "max_steps": 60, "valid_every": 30, "checkpoint_every": 30, "log_every": 10,
              "threads": 1},
}


@pytest.fixture(scope="session")
def cli() -> str:
    return os.environ["XSEQ_CLI"]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> str:
    """A run directory with a partly trained tiny copy model (last.h5, best.h5)."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    xseq.train(TINY, out=out)
    return str(out)


@pytest.fixture(scope="session")
def checkpoint(tiny_run) -> str:
    return os.path.join(tiny_run, "last.h5")


def run_cli(cli: str, args: list, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([cli, *args], input=stdin, capture_output=True, text=True, check=False)


SENTENCES = ["abc", "fedcba", "", "a", "bbbbbb", "acedb", "ffe", "dcbaf", "ab", "eeeeee", "cafe", "badfec"]
