"""xseq.train, xseq.evaluate, xseq.Config and xseq.Checkpoint: the same trainer,
metrics, configs and files as the command line."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

import xseq
from conftest import TINY, run_cli


def test_train_writes_the_run_directory_and_calls_back(tmp_path):
    records = []
    result = xseq.train(TINY, overrides={"train.max_steps": 40, "train.seed": 3}, out=tmp_path / "run",
                        callback=records.append)
    assert result.run_dir == str(tmp_path / "run")
    assert result.stop_reason == "max_steps" and result.steps == 40 and result.exit_code == 0
    for f in ("last.h5", "best.h5", "config.toml", "log.jsonl"):
        assert (tmp_path / "run" / f).exists()
    assert set(result.valid) >= {"exact_match", "loss", "bleu", "chrf"}
    assert "exact_match" in result.test
    # The callback saw exactly the records of log.jsonl, as dicts.
    logged = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert records == logged
    assert any(r.get("valid") and "exact_match" in r for r in records)
    assert any(r.get("test") and r.get("checkpoint") == "best.h5" for r in records)


def test_the_callback_stops_the_run(tmp_path):
    def stop_at_20(record):
        return record.get("step", 0) < 20

    result = xseq.train(TINY, out=tmp_path / "run", callback=stop_at_20)
    assert result.stop_reason == "callback"
    assert result.steps == 20
    assert (tmp_path / "run" / "last.h5").exists()
    assert xseq.Checkpoint(tmp_path / "run" / "last.h5").step == 20


def test_a_callback_exception_is_raised_after_the_run_saved(tmp_path):
    def boom(record):
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        xseq.train(TINY, out=tmp_path / "run", callback=boom)
    assert (tmp_path / "run" / "last.h5").exists()


def test_train_from_a_file_equals_the_cli(cli, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(xseq.Config.from_dict(TINY, {"train.max_steps": 20}).to_toml())
    xseq.train(config, out=tmp_path / "py")
    assert run_cli(cli, ["train", str(config), "--out", str(tmp_path / "cli")]).returncode == 0
    py, cl = xseq.Checkpoint(tmp_path / "py" / "last.h5"), xseq.Checkpoint(tmp_path / "cli" / "last.h5")
    for name in py.params:  # the same trainer: bit-identical weights
        np.testing.assert_array_equal(py.params[name], cl.params[name])


def test_resume_continues(tmp_path):
    xseq.train(TINY, overrides={"train.max_steps": 20}, out=tmp_path / "run")
    result = xseq.train(TINY, overrides={"train.max_steps": 30}, out=tmp_path / "run", resume=True)
    assert result.steps == 30


def test_ctrl_c_saves_last_h5_then_raises_keyboard_interrupt(tmp_path):
    script = textwrap.dedent(f"""
        import sys, xseq
        from conftest import TINY
        try:
            xseq.train(TINY, overrides={{"train.max_steps": 100000, "train.log_every": 1}},
                       out={str(tmp_path / 'run')!r}, callback=lambda r: print("step", flush=True))
        except KeyboardInterrupt as e:
            print("KeyboardInterrupt:", e, flush=True)
            sys.exit(3)
    """)
    env = dict(os.environ, PYTHONPATH=os.environ["PYTHONPATH"] + os.pathsep + os.path.dirname(__file__))
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    for _ in range(5):  # training has started
        assert p.stdout.readline().startswith("step")
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 3, out
    assert "KeyboardInterrupt: training interrupted at step" in out
    assert (tmp_path / "run" / "last.h5").exists()


def test_evaluate_equals_xseq_eval_json(cli, checkpoint, tmp_path):
    data = tmp_path / "test.tsv"
    data.write_text("abc\tabc\nfed\tfed\ncafe\tcafe\nbad\tbad\n")
    hyps = []
    got = xseq.evaluate(checkpoint, data, beam=2, hypotheses=hyps)
    out = tmp_path / "eval.json"
    assert run_cli(cli, ["eval", "--checkpoint", checkpoint, "--data", str(data), "--beam", "2",
                         "--json", str(out)]).returncode == 0
    want = json.loads(out.read_text())
    assert set(got) == set(want)
    for key in want:
        if key.endswith("_per_s"):  # speeds: measured, not computed
            continue
        assert got[key] == want[key], key
    assert len(hyps) == 4
    # xseq.metrics gives evaluate()'s BLEU and chrF from the same hypotheses.
    refs = ["abc", "fed", "cafe", "bad"]
    assert xseq.metrics.bleu(hyps, refs) == pytest.approx(got["bleu"], abs=1e-9)
    assert xseq.metrics.chrf(hyps, refs) == pytest.approx(got["chrf"], abs=1e-9)


def test_config_validates_like_the_cli(tmp_path):
    c = xseq.Config.from_dict(TINY)
    assert c["model"]["d_model"] == 32 and c["train"]["lr"] == 0.001  # defaults filled in
    again = tmp_path / "c.toml"
    again.write_text(c.to_toml())
    assert xseq.Config.load(again).to_dict() == c.to_dict()
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nd_model = 32\nheds = 2\n")
    with pytest.raises(xseq.ConfigError, match=r"bad\.toml:3:1: unknown key model\.heds \(did you mean model\.heads\?\)"):
        xseq.Config.load(bad)
    with pytest.raises(xseq.ConfigError):
        xseq.Config.from_dict(TINY, {"train.lr": -1.0})
    with pytest.raises(xseq.ConfigError):
        xseq.train({"model": {"d_model": "wide"}})


def test_checkpoint_params_equal_h5py(checkpoint):
    ck = xseq.Checkpoint(checkpoint)
    assert ck.step == 60
    assert ck.config["model"]["d_model"] == 32
    assert ck.source_vocab[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert "a" in ck.target_vocab
    stored = {}  # read with h5py first: HDF5 lets one process open a file one way at a time
    with h5py.File(checkpoint, "r") as f:
        f["params"].visit(lambda n: stored.update({n.replace("/", "."): f["params"][n][()]})
                          if isinstance(f["params"][n], h5py.Dataset) else None)
    assert sorted(ck.params) == sorted(stored)
    for name in ck.params:
        value = ck.params[name]
        np.testing.assert_array_equal(value, stored[name])
        assert value.dtype == np.float32 and not value.flags.writeable
    assert "encoder.layers.0.self_attn.q.weight" in ck.params
    with pytest.raises(KeyError):
        ck.params["nope"]
    with pytest.raises(TypeError):
        ck.params["x"] = 1  # read-only mapping


def test_set_num_threads():
    xseq.set_num_threads(1)
    assert xseq.num_threads() == 1
    with pytest.raises(xseq.OptionError):
        xseq.set_num_threads(-2)
    xseq.set_num_threads(0)
