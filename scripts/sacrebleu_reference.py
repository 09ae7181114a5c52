#!/usr/bin/python3
"""Prints sacreBLEU's corpus BLEU and chrF for the test corpora in
tests/test_metrics.cpp, so the C++ test can assert xseq's numbers against them.
Run by hand, never in CI. sacreBLEU is not a Debian package; its dependencies are:

    apt-get install python3-regex python3-tabulate python3-portalocker python3-colorama python3-lxml python3-numpy
    git clone https://github.com/mjpost/sacrebleu /tmp/sacrebleu    # (or a fetched copy)
    echo '__version__ = "2.6.0"' > /tmp/sacrebleu/sacrebleu/version.py
    PYTHONPATH=/tmp/sacrebleu /usr/bin/python3 scripts/sacrebleu_reference.py
"""
import sacrebleu

CORPORA = {
    "simple": (["The cat sat on the mat.", "It is 3.5 km-long, isn't it?"],
               ["The cat is on the mat.", "It is 3.5 km long, is not it?"]),
    "unicode": (["Größe: 1.000,50 € — naïve café", "中文 句子 测试", "ЖУК и паук"],
                ["Größe 1.000,50 € - naive café", "中文 句子 测验", "жук и паук"]),
    "punctuation": (["&quot;Hello&quot;, said (she) [to] {him}: yes/no; 1-2-3 a.b.c", "x<skipped>y 10,000.5 end."],
                    ['"Hello," she said (to him): yes / no; 1 - 2 - 3 a. b. c', "xy 10,000.5 end ."]),
    "empty_and_short": (["", "a", "a b"], ["a b c d", "a", "b a"]),
    "spaces": (["two  spaces\u00a0nbsp\u3000ideo  ", "tab\there  "], ["two spaces nbsp ideo", "tab here"]),
    "dates": (["1996-03-05", "2004-10-03", "1971-12-17", "2042-06-18"],
              ["1996-03-05", "2004-10-30", "1971-12-17", "2024-06-18"]),
}

for name, (hyps, refs) in CORPORA.items():
    bleu = sacrebleu.corpus_bleu(hyps, [refs]).score
    chrf = sacrebleu.corpus_chrf(hyps, [refs]).score
    print(f'{{"{name}", {bleu:.6f}, {chrf:.6f}}},')
