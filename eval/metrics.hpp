// Corpus BLEU and chrF computed exactly as sacreBLEU 2.x does by default
// (BLEU: 13a tokenisation, 4-grams, brevity penalty, "exp" smoothing; chrF2:
// character 6-grams without whitespace, beta 2, effective-order averaging),
// on detokenised text, with one or several references per sentence. Scores are 0..100.
#pragma once

#include <string>
#include <vector>

namespace xseq {

/// sacreBLEU's "13a" tokenisation (mteval-v13a): punctuation split off,
/// periods and commas kept inside numbers, whitespace collapsed.
std::string tokenize_13a(const std::string& line);

double corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references);
double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references);
/// Several references per sentence, as sacreBLEU takes them: one stream (a list as
/// long as the hypotheses) per reference set.
double corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& streams);
double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& streams);

/// sacreBLEU-style signatures of the two scores, to quote beside them:
/// "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:xseq-0.3.0" and
/// "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:xseq-0.3.0". The values
/// equal sacreBLEU 2.6.0's with these settings (tests/test_metrics.cpp).
std::string bleu_signature(std::size_t references);
std::string chrf_signature(std::size_t references);
/// "BLEU = 53.73 <signature>" and "chrF2 = 61.02 <signature>", as `xseq metrics` and `xseq eval` print them.
std::string bleu_line(double bleu, std::size_t references);
std::string chrf_line(double chrf, std::size_t references);

}  // namespace xseq
