"""xseq: train and use attention sequence-to-sequence models on CPUs.

A thin layer over xseq's C++ library (the compiled ``xseq._xseq``): the same
trainer, decoder and metrics as the ``xseq`` command line, with the same results.

    import xseq
    translator = xseq.Translator("runs/dates-transformer/best.h5", beam=4)
    for t in translator.translate(["march 5 1996", "5/3/96"]):
        print(t.text, t.score)

Long calls release the GIL. Errors are ``xseq.Error`` subclasses:
``CheckpointError`` (``CheckpointNotFoundError`` is also a ``FileNotFoundError``),
``ConfigError``, ``OptionError`` and ``InputError`` (both also ``ValueError``).
See docs/python.md.
"""

from __future__ import annotations

import json
import math
import os
import signal
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Callable, Optional, Sequence, Union

from . import _xseq
from ._xseq import (
    CheckpointError,
    CheckpointNotFoundError,
    ConfigError,
    Error,
    InputError,
    OptionError,
    TargetScore,
    Translation,
)
from . import metrics

__version__: str = _xseq.__version__

__all__ = [
    "__version__", "Translator", "Translation", "TargetScore", "Checkpoint", "Config", "TrainResult",
    "train", "evaluate", "metrics", "load_plugin", "gradcheck", "set_num_threads", "num_threads",
    "Error", "CheckpointError", "CheckpointNotFoundError", "ConfigError", "OptionError", "InputError",
]


def _check_type(name: str, value: Any, types: tuple, what: str) -> None:
    if isinstance(value, bool) and bool not in types:
        raise TypeError(f"{name} must be {what}, got bool")
    if not isinstance(value, types):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")


def _text_list(name: str, value: Any) -> list[str]:
    """A list of str, refusing a bare str (it would be iterated as characters)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a list of str, not a single {type(value).__name__} "
                        f"(wrap it: [{name}])")
    if not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of str, got {type(value).__name__}")
    out = list(value)
    for i, item in enumerate(out):
        if not isinstance(item, str):
            raise TypeError(f"{name}[{i}] must be str, got {type(item).__name__}")
    return out


_INT, _FLOAT, _BOOL = (int,), (int, float), (bool,)
# Search options: name -> (types, description); the defaults are `xseq translate`'s.
_SEARCH = {
    "beam": (_INT, "an int"), "n_best": (_INT, "an int"), "alpha": (_FLOAT, "a number"),
    "max_len_ratio": (_FLOAT, "a number"), "max_len_extra": (_INT, "an int"), "max_len": (_INT, "an int"),
    "sample": (_BOOL, "a bool"), "temperature": (_FLOAT, "a number"), "top_k": (_INT, "an int"),
    "top_p": (_FLOAT, "a number"), "seed": (_INT, "an int"), "attention": (_BOOL, "a bool"),
}
_RESOURCES = {
    "threads": (_INT, "an int"), "workers": (_INT, "an int"), "batch_size": (_INT, "an int"),
    "batch_tokens": (_INT, "an int"), "max_input": (_INT, "an int"), "truncate": (_BOOL, "a bool"),
    "precision": ((str, type(None)), "'fp32', 'bf16', 'int8' or None"),
}


def _checked(options: dict, allowed: dict) -> dict:
    for name, value in options.items():
        types, what = allowed[name]
        _check_type(name, value, types, what)
        if isinstance(value, float) and not math.isfinite(value):
            raise OptionError(f"{name} must be a finite number, got {value}")
    return options


class Translator:
    """A checkpoint (or an ensemble) loaded once, for translating and scoring.

    ``path_or_paths`` is one checkpoint, or a list of several (an ensemble: the
    mean of the models' log-probabilities). Options have the names and defaults
    of ``xseq translate``'s flags; ``threads`` (-1: the checkpoint's
    train.threads, 0: all cores) and ``workers`` (calls that run at once) set the
    resources; ``precision`` ('fp32', 'bf16', 'int8'; None: the checkpoint's, int8
    for a quantised one) the products (docs/precision.md). Outputs do not depend on batching: a sentence gets the same text
    and score to the last bit alone or with others.
    """

    def __init__(self, path_or_paths: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]], *,
                 beam: int = 1, n_best: int = 1, alpha: float = 0.6, max_len_ratio: float = 2.0,
                 max_len_extra: int = 10, max_len: int = 0, sample: bool = False, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, seed: int = 1, threads: int = -1, workers: int = 1,
                 batch_size: int = 32, batch_tokens: int = 0, max_input: int = 0, truncate: bool = True,
                 precision: Optional[str] = None) -> None:
        if isinstance(path_or_paths, (str, os.PathLike)):
            paths = [os.fspath(path_or_paths)]
        else:
            paths = [os.fspath(p) for p in path_or_paths]
        options = dict(beam=beam, n_best=n_best, alpha=alpha, max_len_ratio=max_len_ratio,
                       max_len_extra=max_len_extra, max_len=max_len, sample=sample, temperature=temperature,
                       top_k=top_k, top_p=top_p, seed=seed)
        _checked(options, _SEARCH)
        resources = _checked(dict(threads=threads, workers=workers, batch_size=batch_size,
                                  batch_tokens=batch_tokens, max_input=max_input, truncate=truncate,
                                  precision=precision), _RESOURCES)
        if seed < 0:
            raise OptionError(f"seed must be >= 0, got {seed}")
        self._impl = _xseq._Translator(paths, {**options, **resources})
        self._options = options

    def translate(self, sources: Sequence[str], *, attention: bool = False, **search: Any) -> list[Translation]:
        """Translates each text; returns one ``Translation`` per source, in order.

        Keyword arguments override the search options for this call (``beam``,
        ``n_best``, ``alpha``, ``max_len_ratio``, ``max_len_extra``, ``max_len``,
        ``sample``, ``temperature``, ``top_k``, ``top_p``, ``seed``).
        ``attention=True`` fills ``Translation.attention``.
        """
        sources = _text_list("sources", sources)
        return self._impl.translate(sources, self._search(attention, search), 0)

    def translate_iterable(self, lines: Iterable[str], *, batch_size: int = 32, attention: bool = False,
                           **search: Any) -> Iterator[Translation]:
        """Translates lines as they come, ``batch_size`` at a time, yielding in order.

        Sampling draws line i from the stream (seed, i), as ``xseq translate`` does.
        """
        _check_type("batch_size", batch_size, _INT, "an int")
        if batch_size < 1:
            raise OptionError(f"batch_size must be >= 1, got {batch_size}")
        if isinstance(lines, (str, bytes)):
            raise TypeError("lines must be an iterable of str, not a single str")
        options = self._search(attention, search)
        batch: list[str] = []
        first = 0
        for line in lines:
            if not isinstance(line, str):
                raise TypeError(f"line {first + len(batch)} must be str, got {type(line).__name__}")
            batch.append(line.rstrip("\r\n"))
            if len(batch) == batch_size:
                yield from self._impl.translate(batch, options, first)
                first += len(batch)
                batch = []
        if batch:
            yield from self._impl.translate(batch, options, first)

    def translate_tokens(self, sources: Sequence[Sequence[str]], *, attention: bool = False,
                         **search: Any) -> list[Translation]:
        """Translates pre-tokenised sources (lists of source vocabulary pieces)."""
        if isinstance(sources, (str, bytes)):
            raise TypeError("sources must be a list of token lists")
        tokens = [_text_list(f"sources[{i}]", s) for i, s in enumerate(sources)]
        return self._impl.translate_tokens(tokens, self._search(attention, search), 0)

    def score(self, sources: Sequence[str], targets: Sequence[str]) -> list[TargetScore]:
        """The log-probability of each target given its source, per token and in total
        (``xseq score`` prints the same numbers)."""
        return self._impl.score(_text_list("sources", sources), _text_list("targets", targets))

    def tokenize(self, text: str) -> list[str]:
        """The model's source-side tokenisation of a text."""
        _check_type("text", text, (str,), "a str")
        return self._impl.tokenize(text)

    @property
    def checkpoints(self) -> list[str]:
        return list(self._impl.checkpoints)

    @property
    def threads(self) -> int:
        """The thread count each call runs with."""
        return self._impl.threads

    @property
    def precision(self) -> str:
        """The precision of the products: 'fp32', 'bf16' or 'int8'."""
        return self._impl.precision

    @property
    def max_input(self) -> int:
        """The input limit in tokens."""
        return self._impl.max_input

    def _search(self, attention: bool, search: dict) -> dict:
        unknown = set(search) - set(_SEARCH)
        if unknown:
            raise TypeError(f"unknown search option(s): {', '.join(sorted(unknown))} "
                            f"(known: {', '.join(sorted(_SEARCH))})")
        _check_type("attention", attention, _BOOL, "a bool")
        return _checked({**self._options, **search, "attention": attention}, _SEARCH)

    def __repr__(self) -> str:
        return f"xseq.Translator({self.checkpoints!r})"


# ---------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------

def _toml_value(value: Any, where: str) -> str:
    """A Python value as TOML (the value syntax of --set)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{where}: {value} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, os.PathLike):
        return json.dumps(os.fspath(value), ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(v, f'{where}.{k}')}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, f"{where}[{i}]") for i, v in enumerate(value)) + "]"
    raise TypeError(f"{where}: cannot write a {type(value).__name__} into a config")


def _dict_to_toml(config: Mapping[str, Any]) -> str:
    lines: list[str] = []
    for key, value in config.items():
        if not isinstance(value, Mapping):  # top-level keys (plugins = [...]) first
            lines.append(f"{key} = {_toml_value(value, key)}")
    for section, table in config.items():
        if isinstance(table, Mapping):
            lines.append(f"[{section}]")
            for key, value in table.items():
                lines.append(f"{key} = {_toml_value(value, f'{section}.{key}')}")
    return "\n".join(lines) + "\n"


def _overrides(overrides: Optional[Mapping[str, Any]]) -> list[str]:
    if overrides is None:
        return []
    if not isinstance(overrides, Mapping):
        raise TypeError(f"overrides must be a dict of 'section.key' -> value, got {type(overrides).__name__}")
    out = []
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise TypeError(f"override keys must be 'section.key' strings, got {key!r}")
        out.append(f"{key}={_toml_value(value, key)}")
    return out


class Config(Mapping):
    """A validated config: the same schema, defaults and errors (file, line, key)
    as the command line. Read it like a dict of sections; ``to_toml()`` gives the
    resolved file ``xseq config`` prints."""

    def __init__(self, toml_text: str) -> None:
        self._toml = toml_text
        self._dict = tomllib.loads(toml_text)

    @classmethod
    def load(cls, path: Union[str, os.PathLike], overrides: Optional[Mapping[str, Any]] = None) -> "Config":
        """Reads and validates a config file; ``overrides`` maps 'section.key' to a value (as --set)."""
        return cls(_xseq._config_load(os.fspath(path), _overrides(overrides)))

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], overrides: Optional[Mapping[str, Any]] = None) -> "Config":
        """Validates a config given as a dict of sections."""
        if not isinstance(config, Mapping):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        return cls(_xseq._config_parse(_dict_to_toml(config), "<dict>", _overrides(overrides)))

    def to_toml(self) -> str:
        return self._toml

    def to_dict(self) -> dict:
        return tomllib.loads(self._toml)

    def __getitem__(self, section: str) -> Any:
        return self._dict[section]

    def __iter__(self):
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __repr__(self) -> str:
        return f"xseq.Config({self._dict!r})"


# ---------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------

class _Params(Mapping):
    """Read-only mapping: dotted parameter name -> float32 numpy array (read-only)."""

    def __init__(self, impl: Any, group: str) -> None:
        self._impl, self._group = impl, group
        self._names = list(impl.names(group))

    def __getitem__(self, name: str):
        if name not in self._names:
            raise KeyError(name)
        return self._impl.tensor(self._group, name)

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names


class Checkpoint:
    """A checkpoint as data: its config, step, vocabularies and parameters."""

    def __init__(self, path: Union[str, os.PathLike]) -> None:
        self.path = os.fspath(path)
        self._impl = _xseq._Checkpoint(self.path)
        self.config: dict = tomllib.loads(self._impl.config())
        step = self._impl.attribute("step")
        self.step: int = int(step) if step else 0
        self.source_vocab: list[str] = list(self._impl.vocab(True))
        self.target_vocab: list[str] = list(self._impl.vocab(False))
        self.params: Mapping[str, Any] = _Params(self._impl, "params")
        """dotted name (``encoder.layers.0.self_attn.q.weight``) -> numpy array, as h5py reads it"""
        self.ema: Mapping[str, Any] = _Params(self._impl, "ema")
        """the moving average of the weights (empty without train.ema_decay)"""

    def attribute(self, key: str) -> str:
        """A root attribute of the file ("" when absent): docs/checkpoint.md lists them."""
        return self._impl.attribute(key)

    def __repr__(self) -> str:
        return f"xseq.Checkpoint({self.path!r}, step={self.step})"


# ---------------------------------------------------------------------------
# Training and evaluation
# ---------------------------------------------------------------------------

class TrainResult:
    """What ``train`` returns: the run directory, why it stopped, the metrics."""

    def __init__(self, raw: dict) -> None:
        self.run_dir: str = raw["run_dir"]
        self.steps: int = raw["steps"]
        self.stop_reason: str = raw["stop_reason"]
        self.valid: dict = dict(raw["valid"])
        self.test: dict = dict(raw["test"])
        self.test_averaged: dict = dict(raw["test_averaged"])
        self.exit_code: int = raw["exit_code"]

    def __repr__(self) -> str:
        return (f"xseq.TrainResult(run_dir={self.run_dir!r}, steps={self.steps}, "
                f"stop_reason={self.stop_reason!r}, valid={self.valid!r})")


def train(config: Union[str, os.PathLike, Mapping[str, Any]], *, overrides: Optional[Mapping[str, Any]] = None,
          out: Optional[Union[str, os.PathLike]] = None, resume: bool = False,
          init_from: Optional[Union[str, os.PathLike]] = None,
          callback: Optional[Callable[[dict], Optional[bool]]] = None) -> TrainResult:
    """Trains a model as ``xseq train`` does: the same run directory, log.jsonl and checkpoints.

    ``config`` is a config file or a dict of sections; ``overrides`` maps
    'section.key' to a value (``--set``); ``out`` is the run directory
    (``--out``). ``callback`` receives each log.jsonl record as a dict; returning
    ``False`` stops the run (last.h5 saved, best.h5 tested). Ctrl-C saves last.h5
    as SIGINT does in the CLI, then raises KeyboardInterrupt.
    """
    sets = _overrides(overrides)
    if out is not None:
        sets.append(f"train.out_dir={_toml_value(os.fspath(out), 'out')}")
    _check_type("resume", resume, _BOOL, "a bool")
    if isinstance(config, Mapping):
        text, origin, from_file = _dict_to_toml(config), "<dict>", False
    elif isinstance(config, (str, os.PathLike)):
        text, origin, from_file = "", os.fspath(config), True
    else:
        raise TypeError(f"config must be a path or a dict, got {type(config).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable")
    errors: list[BaseException] = []

    def on_log(line: str) -> bool:
        if callback is None or errors:
            return not errors
        try:
            return callback(json.loads(line)) is not False
        except BaseException as e:  # re-raised once the run has saved and returned
            errors.append(e)
            return False

    raw = _xseq._train(text, origin, sets, from_file, resume, os.fspath(init_from) if init_from else "",
                       on_log if callback is not None else None)
    if errors:
        raise errors[0]
    result = TrainResult(raw)
    if result.stop_reason == "interrupted" and result.exit_code == 128 + int(signal.SIGINT):
        raise KeyboardInterrupt(f"training interrupted at step {result.steps}; "
                                f"{os.path.join(result.run_dir, 'last.h5')} is saved (train(..., resume=True) continues)")
    return result


def evaluate(checkpoint: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]],
             data: Union[str, os.PathLike], *, beam: int = 1, alpha: float = 0.6, max_len_ratio: float = 2.0,
             max_len_extra: int = 10, sample: bool = False, temperature: float = 1.0, top_k: int = 0,
             top_p: float = 1.0, seed: int = 1, batch_size: int = 64, max_input: int = 0, threads: int = -1,
             precision: Optional[str] = None, hypotheses: Optional[list] = None) -> dict:
    """The metrics of a checkpoint (or an ensemble) on a test file: exactly the keys
    and values ``xseq eval --json`` writes. ``hypotheses``, a list, receives the
    decoded sentences."""
    paths = [os.fspath(checkpoint)] if isinstance(checkpoint, (str, os.PathLike)) else [os.fspath(c) for c in checkpoint]
    decode = _checked(dict(beam=beam, alpha=alpha, max_len_ratio=max_len_ratio, max_len_extra=max_len_extra,
                           sample=sample, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed), _SEARCH)
    _checked(dict(threads=threads, batch_size=batch_size, max_input=max_input, precision=precision), _RESOURCES)
    if batch_size < 1:
        raise OptionError(f"batch_size must be >= 1, got {batch_size}")
    if max_input < 0:
        raise OptionError(f"max_input must be >= 0 (0 = the model's data.max_len), got {max_input}")
    found, hyps = _xseq._evaluate(paths, os.fspath(data), decode, batch_size, max_input, threads, precision or "")
    if hypotheses is not None:
        hypotheses.extend(hyps)
    return dict(found)


# ---------------------------------------------------------------------------
# Plugins, layers, threads
# ---------------------------------------------------------------------------

def load_plugin(path: Union[str, os.PathLike]) -> str:
    """Loads a C++ plugin (built with xseq_add_plugin) into this process, so that
    its layers, attention scores and model types can be trained and translated.
    A bare name is searched in XSEQ_PLUGIN_PATH. Returns the path loaded."""
    return _xseq.load_plugin(os.fspath(path))


def gradcheck(layer_name: str, *, dim: int = 16, dropout: float = 0.1, options: Optional[Mapping[str, Any]] = None,
              seed: int = 1, max_elements: int = 0) -> dict:
    """Checks a registered layer's gradients (``xseq gradcheck``): every parameter
    and the input against finite differences in train and eval mode, that
    backward accumulates, and its time_mixing() claim. Returns the report: ``ok``,
    ``failures``, ``lines`` (one dict per tensor and mode) and ``text``."""
    _check_type("layer_name", layer_name, (str,), "a str")
    _check_type("dim", dim, _INT, "an int")
    if dim < 1 or dim > 4096:
        raise OptionError(f"dim must be in [1, 4096], got {dim}")
    return _xseq._gradcheck(layer_name, dim, float(dropout), dict(options or {}), seed, max_elements)


def set_num_threads(n: int) -> None:
    """Sets the thread count of training and of calls without their own ``threads``
    (0 = all cores)."""
    _check_type("n", n, _INT, "an int")
    _xseq.set_num_threads(n)


def num_threads() -> int:
    return _xseq.num_threads()
