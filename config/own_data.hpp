// `xseq config init`: a commented config for one's own parallel text, that
// trains with only data.train and data.valid set (docs/own-data.md).
#pragma once

#include <string>

namespace xseq {

struct OwnDataTemplate {
  std::string train = "data/train.tsv";  ///< a TSV file, or "train.src,train.tgt"
  std::string valid;                      ///< "" = guessed beside train (valid.tsv, dev.tsv), else a placeholder
  /// With a readable `train`: max_len from the corpus's length distribution, and
  /// a comment with the numbers it came from.
  bool measure = false;
};

/// The config's text (TOML with comments). It parses with parse_config.
std::string own_data_config(const OwnDataTemplate& options);

}  // namespace xseq
