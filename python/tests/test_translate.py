"""xseq.Translator: equal to `xseq translate` and `xseq score`, typed, and every
bad input raises a documented exception."""
import os
import threading
import time

import numpy as np
import pytest

import xseq
from conftest import SENTENCES, run_cli


def test_version_equals_the_cli(cli):
    assert run_cli(cli, ["version"]).stdout.splitlines()[0] == f"xseq {xseq.__version__}"


def test_translate_equals_the_cli(cli, checkpoint):
    t = xseq.Translator(checkpoint, threads=1)
    got = "".join(r.text + "\n" for r in t.translate(SENTENCES))
    assert got == run_cli(cli, ["translate", "--checkpoint", checkpoint], "\n".join(SENTENCES) + "\n").stdout


def test_nbest_texts_and_scores_equal_the_cli(cli, checkpoint):
    t = xseq.Translator(checkpoint, beam=4, n_best=3, threads=1)
    lines = []
    for i, r in enumerate(t.translate(SENTENCES)):
        if not r.source_tokens:
            lines.append(f"{i}\t\t0\t0")
            continue
        assert r.hypotheses[0].text == r.text
        lines += [f"{i}\t{h.text}\t{h.normalized_score:.6f}\t{h.score:.6f}" for h in r.hypotheses]
    out = run_cli(cli, ["translate", "--checkpoint", checkpoint, "--beam", "4", "--n-best", "3"],
                  "\n".join(SENTENCES) + "\n").stdout
    assert "\n".join(lines) + "\n" == out


def test_results_have_every_field(checkpoint):
    t = xseq.Translator(checkpoint, threads=1)
    r = t.translate(["abcdef"], attention=True)[0]
    assert isinstance(r.text, str) and isinstance(r.score, float) and r.score <= 0
    assert r.tokens == list(r.text)  # character level
    assert r.source_tokens == list("abcdef")
    assert isinstance(r.attention, np.ndarray) and r.attention.dtype == np.float32
    assert r.attention.shape == (len(r.tokens) + int(r.ended), 6)
    np.testing.assert_allclose(r.attention.sum(axis=1), 1.0, atol=1e-4)
    assert r.head_attention.shape == (r.attention.shape[0], 2, 6)
    assert t.translate(["abcdef"])[0].attention is None
    empty = t.translate([""])[0]
    assert empty.text == "" and empty.score == 0.0


def test_translate_iterable_streams_in_order(checkpoint):
    t = xseq.Translator(checkpoint, threads=1)
    streamed = [r.text for r in t.translate_iterable(iter(SENTENCES), batch_size=5)]
    assert streamed == [r.text for r in t.translate(SENTENCES)]
    sampled = [r.text for r in t.translate_iterable(SENTENCES, batch_size=3, sample=True, seed=4)]
    assert sampled == [r.text for r in t.translate(SENTENCES, sample=True, seed=4)]  # line i: stream (seed, i)


def test_score_equals_the_cli(cli, checkpoint, tmp_path):
    src, tgt = ["abc", "fed", "aaaa"], ["abc", "def", "aaa"]
    data = tmp_path / "pairs.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in zip(src, tgt)))
    scores = xseq.Translator(checkpoint, threads=1).score(src, tgt)
    lines = [f"{i}\t{s.log_prob:.6f}\t{s.log_prob / len(s.tokens):.6f}\t{len(s.tokens)}" for i, s in enumerate(scores)]
    assert "\n".join(lines) + "\n" == run_cli(cli, ["score", "--checkpoint", checkpoint, "--data", str(data)]).stdout
    for s in scores:
        assert s.tokens[-1] == "</s>" and len(s.tokens) == len(s.token_log_probs)
        assert sum(s.token_log_probs) == pytest.approx(s.log_prob, abs=1e-9)


def test_a_bare_str_is_a_type_error(checkpoint):
    t = xseq.Translator(checkpoint, threads=1)
    with pytest.raises(TypeError, match="not a single str"):
        t.translate("abc")
    with pytest.raises(TypeError, match=r"sources\[1\] must be str"):
        t.translate(["abc", 3])
    with pytest.raises(TypeError, match="beam must be an int"):
        xseq.Translator(checkpoint, beam="4")
    with pytest.raises(TypeError, match="unknown search option"):
        t.translate(["abc"], bean=4)
    with pytest.raises(TypeError):
        xseq.Translator(checkpoint, 4)  # options are keyword-only


def test_errors_are_the_documented_classes(checkpoint, tmp_path):
    with pytest.raises(xseq.CheckpointNotFoundError) as missing:
        xseq.Translator(tmp_path / "nope.h5")
    assert isinstance(missing.value, FileNotFoundError) and isinstance(missing.value, xseq.CheckpointError)
    assert "nope.h5" in str(missing.value)
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    with pytest.raises(xseq.CheckpointError):
        xseq.Translator(bad)
    with pytest.raises(xseq.OptionError, match=r"beam must be in \[1, 256\]") as option:
        xseq.Translator(checkpoint, beam=0)
    assert isinstance(option.value, ValueError)
    with pytest.raises(xseq.OptionError, match="n_best 3 needs a beam of at least 3"):
        xseq.Translator(checkpoint, n_best=3)
    t = xseq.Translator(checkpoint, threads=1, max_input=3, truncate=False)
    with pytest.raises(xseq.InputError, match="truncate is off") as too_long:
        t.translate(["abcdef"])
    assert isinstance(too_long.value, ValueError)
    with pytest.raises(xseq.InputError, match="not valid UTF-8|control character"):
        t.translate(["a\x1b[2J"])
    with pytest.raises(xseq.InputError):
        t.score(["abc"], [])
    for e in (xseq.CheckpointError, xseq.ConfigError, xseq.OptionError, xseq.InputError):
        assert issubclass(e, xseq.Error)


def test_several_models_in_one_process(checkpoint, tiny_run):
    a = xseq.Translator(checkpoint, threads=1)
    b = xseq.Translator(os.path.join(tiny_run, "best.h5"), threads=1, beam=2)
    ensemble = xseq.Translator([checkpoint, os.path.join(tiny_run, "best.h5")], threads=1)
    for r in (a.translate(["abc"]), b.translate(["abc"]), ensemble.translate(["abc"])):
        assert isinstance(r[0].text, str)


def test_translate_releases_the_gil(checkpoint):
    t = xseq.Translator(checkpoint, threads=1)
    work = ["abcdef" * 2] * 4000
    t.translate(work[:10])  # warm up
    ticks = 0
    done = threading.Event()

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    started = time.perf_counter()
    before = ticks
    t.translate(work)
    during = ticks - before
    elapsed = time.perf_counter() - started
    done.set()
    counter.join()
    # Holding the GIL for the whole call would leave the counter at (almost) 0;
    # released, it ticks for the whole call (millions per second in CPython).
    assert during > 1000, f"the counter advanced {during} times in {elapsed:.3f} s"


def test_concurrent_calls_equal_one_thread(checkpoint):
    t = xseq.Translator(checkpoint, threads=1, workers=3)
    want = [r.text for r in t.translate(SENTENCES * 5)]
    results = {}

    def run(k):
        results[k] = [r.text for r in t.translate(SENTENCES * 5)]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(results[k] == want for k in range(3))


def test_fork_after_use_is_a_clear_error(checkpoint):
    import multiprocessing

    t = xseq.Translator(checkpoint, threads=1)
    t.translate(["abc"])

    def child(queue):
        try:
            t.translate(["abc"])
            queue.put("ran")
        except xseq.Error as e:
            queue.put(str(e))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=child, args=(queue,))
    p.start()
    message = queue.get(timeout=60)
    p.join(timeout=60)
    assert "forked after xseq started its threads" in message
    assert "spawn" in message


def test_spawn_works(checkpoint):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        assert pool.apply(_translate_in_child, (checkpoint,)) == xseq.Translator(checkpoint, threads=1).translate(["abc"])[0].text


def _translate_in_child(path):
    import xseq as x
    return x.Translator(path, threads=1).translate(["abc"])[0].text


def test_precision_equals_the_cli(cli, checkpoint, tmp_path):
    """precision= is --precision: int8 texts and scores equal the CLI's; a quantised
    checkpoint decodes in int8 unless told otherwise; a bad name is an OptionError."""
    t = xseq.Translator(checkpoint, threads=1, precision="int8")
    assert t.precision == "int8"
    assert xseq.Translator(checkpoint, threads=1).precision == "fp32"
    got = "".join(r.text + "\n" for r in t.translate(SENTENCES))
    assert got == run_cli(cli, ["translate", "--checkpoint", checkpoint, "--precision", "int8"],
                          "\n".join(SENTENCES) + "\n").stdout
    quantized = str(tmp_path / "int8.h5")
    assert run_cli(cli, ["quantize", checkpoint, quantized]).returncode == 0
    assert xseq.Translator(quantized, threads=1).precision == "int8"
    assert xseq.Translator(quantized, threads=1, precision="fp32").precision == "fp32"
    with pytest.raises(xseq.OptionError, match="precision must be fp32, bf16, int8"):
        xseq.Translator(checkpoint, precision="fp16")
    with pytest.raises(TypeError, match="precision must be"):
        xseq.Translator(checkpoint, precision=8)
    data = tmp_path / "test.tsv"
    data.write_text("abc\tabc\nfed\tfed\n")
    assert xseq.evaluate(checkpoint, data, precision="int8")["precision"] == "int8"
    assert xseq.evaluate(quantized, data)["precision"] == "int8"
