"""Corpus BLEU and chrF, computed as sacreBLEU 2.x does by default (BLEU: 13a
tokenisation, 4-grams, exp smoothing; chrF2: character 6-grams), by the same C++
code as ``xseq eval``: the numbers are equal to the command line's.

``references`` is a list of str (one reference per hypothesis), or a list of such
lists (several reference sets, each as long as the hypotheses, as sacreBLEU
takes them).
"""

from __future__ import annotations

from typing import Sequence, Union

from . import _xseq

__all__ = ["bleu", "chrf"]


def _streams(hypotheses, references) -> tuple[list[str], list[list[str]]]:
    if isinstance(hypotheses, (str, bytes)) or isinstance(references, (str, bytes)):
        raise TypeError("hypotheses and references must be lists of str, not a single str")
    hyps = list(hypotheses)
    refs = list(references)
    if not all(isinstance(h, str) for h in hyps):
        raise TypeError("hypotheses must be a list of str")
    if refs and all(isinstance(r, str) for r in refs):
        streams = [refs]
    elif refs and all(isinstance(r, (list, tuple)) for r in refs):
        streams = [list(r) for r in refs]
        if not all(isinstance(x, str) for s in streams for x in s):
            raise TypeError("references must be a list of str or a list of lists of str")
    else:
        raise TypeError("references must be a list of str or a list of lists of str")
    return hyps, streams


def bleu(hypotheses: Sequence[str], references: Union[Sequence[str], Sequence[Sequence[str]]]) -> float:
    """Corpus BLEU (0-100), sacreBLEU's default signature."""
    return _xseq._bleu(*_streams(hypotheses, references))


def chrf(hypotheses: Sequence[str], references: Union[Sequence[str], Sequence[Sequence[str]]]) -> float:
    """Corpus chrF2 (0-100), sacreBLEU's default signature."""
    return _xseq._chrf(*_streams(hypotheses, references))
