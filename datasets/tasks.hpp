// Synthetic tasks, deterministic for a seed: copy, reverse, sort, addition,
// dates and toy-translation (docs/data.md has examples and the grammar).
// `xseq data make TASK --out DIR` writes train/valid/test TSVs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xseq {

struct TextPair {
  std::string source, target;
};

struct TaskOptions {
  std::string name;                 ///< one of task_names()
  std::int64_t train = 10000, valid = 500, test = 500;
  std::int64_t min_len = 3, max_len = 12;   ///< copy / reverse / sort: symbols per sequence
  std::string alphabet = "abcdefghijklmnopqrstuvwxyz";  ///< copy / reverse / sort (UTF-8 allowed)
  std::int64_t max_digits = 4;      ///< addition: digits per operand, 1..max_digits
  std::uint64_t seed = 1;
};

struct TaskData {
  std::vector<TextPair> train, valid, test;
  std::string tokenizer;  ///< the tokenizer the task is meant for ("char" or "space")
};

std::vector<std::string> task_names();
/// Every source sentence is unique across train, valid and test (so the
/// validation and test scores measure generalisation, not recall).
TaskData make_task(const TaskOptions& options);
/// One "source<TAB>target" line per pair.
void write_tsv(const std::string& path, const std::vector<TextPair>& pairs);

/// The toy-translation grammar's two halves, exposed for tests and docs.
namespace toy {
/// How many content words the invented lexicon has (nouns + adjectives + verbs + prepositions).
std::int64_t lexicon_size();
/// The invented translation of an English content word ("" if unknown).
std::string translate_word(const std::string& english);
}  // namespace toy

}  // namespace xseq
