"""Plugins and the layer gradient check from Python."""
import os

import pytest

import xseq


def test_gradcheck_a_builtin_layer():
    report = xseq.gradcheck("transformer_encoder_layer", dim=8, options={"heads": 2, "ff_dim": 16})
    assert report["ok"] and report["failures"] == 0
    assert any(line["tensor"] == "input" for line in report["lines"])
    assert "all" in report["text"] and "checks passed" in report["text"]


def test_a_plugin_layer_loads_and_checks():
    path = xseq.load_plugin(os.environ["XSEQ_TEST_PLUGIN"])
    assert os.path.basename(path) == os.path.basename(os.environ["XSEQ_TEST_PLUGIN"])
    report = xseq.gradcheck("test_glu", dim=6)
    assert report["ok"], report["text"]


def test_errors():
    with pytest.raises(xseq.Error, match="unknown layer type 'higway'"):
        xseq.gradcheck("higway")
    with pytest.raises(xseq.Error):
        xseq.load_plugin("/no/such/plugin.so")
    with pytest.raises(xseq.OptionError):
        xseq.gradcheck("transformer_encoder_layer", dim=0)


def test_metrics_match_sacrebleu():
    # Values from sacreBLEU 2.6.0 (default signatures), two reference sets.
    hyps = ["the cat sat on the mat", "a quick brown fox jumps", "hello world", "it is raining today"]
    refs = [["the cat is on the mat", "the quick brown fox jumped", "hello there world", "it rains today"],
            ["there is a cat on the mat", "a fast brown fox jumps", "hello world !", "today it is raining"]]
    assert xseq.metrics.bleu(hyps, refs) == pytest.approx(37.162496330782666, abs=1e-9)
    assert xseq.metrics.chrf(hyps, refs) == pytest.approx(76.28504132533644, abs=1e-9)
    one = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."]
    pair = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
    assert xseq.metrics.bleu(pair, one) == pytest.approx(45.06750632106114, abs=1e-9)
    assert xseq.metrics.chrf(pair, one) == pytest.approx(50.043063606582294, abs=1e-9)
    with pytest.raises(xseq.InputError):
        xseq.metrics.bleu(["a", "b"], ["a"])
    with pytest.raises(TypeError):
        xseq.metrics.bleu("a", ["a"])
