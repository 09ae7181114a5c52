// Batch-invariant decoding: a sentence's output (tokens, score to the last bit,
// n-best lists, sampled tokens) is the same decoded alone, in any batch, in any
// position of a batch, and with any thread count, for both model types. The
// CLI, the C++ Translator, Python and the server compare outputs byte for byte
// on this foundation (docs/architecture.md, "Batch-invariant inference").
#include <cstring>
#include <filesystem>

#include "decode/decoding.hpp"
#include "decode/trained_model.hpp"
#include "helpers.hpp"
#include "tiny_config.hpp"
#include "train/trainer.hpp"

using namespace xseq;

namespace {

// A tiny model trained for a few steps: partly right, so its outputs vary.
TrainedModel tiny_trained(const std::string& type) {
  const std::string dir = "test_invariance_" + type;
  std::filesystem::remove_all(dir);
  const Config c = parse_config(xseq::test::kTinyCopyConfig, "tiny.toml",
                                {"train.max_steps=60", "train.out_dir=\"" + dir + "\"", "model.type=\"" + type + "\"",
                                 "model.hidden=32", "model.embed_dim=16"});
  REQUIRE(train_model(c, TrainOptions{false, true, nullptr}).exit_code == 0);
  TrainedModel m = load_trained_model(dir + "/last.h5");
  std::filesystem::remove_all(dir);
  return m;
}

// Sources of 1 to 12 letters, as a corpus in the model's vocabulary.
TokenizedCorpus sources(const TextPipeline& p) {
  const std::vector<std::string> texts{"a",      "bc",      "fed",          "abcdefabcdef", "cab",   "ffffff",
                                       "deadbe", "ace",     "bbbbbbbbbbbb", "fa",           "abcde", "edcbaf"};
  TokenizedCorpus corpus;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::vector<std::int32_t> ids;
    for (const auto& token : p.tokenizer->encode(texts[i])) ids.push_back(p.source_vocab.id(token));
    corpus.add(ids, {}, static_cast<std::int64_t>(i));
  }
  return corpus;
}

// Each row's hypotheses (n-best lists with n_best > 1, else one), decoded together.
std::vector<std::vector<Hypothesis>> decode_rows(Seq2SeqModel& model, const TokenizedCorpus& corpus,
                                                 const std::vector<std::int64_t>& rows, const DecodeOptions& o) {
  const Batch b = make_batch(corpus, rows);
  if (o.n_best > 1) return beam_decode_nbest(model, b.source, b.source_lengths, o);
  std::vector<std::vector<Hypothesis>> out;
  for (auto& h : decode(model, b.source, b.source_lengths, o, rows)) out.push_back({std::move(h)});
  return out;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void require_same(const std::vector<Hypothesis>& want, const std::vector<Hypothesis>& got) {
  REQUIRE(want.size() == got.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    INFO("hypothesis " << k << ": score " << want[k].score << " vs " << got[k].score);
    REQUIRE(want[k].tokens == got[k].tokens);
    REQUIRE(same_bits(want[k].score, got[k].score));
    REQUIRE(same_bits(want[k].normalized, got[k].normalized));
    REQUIRE(want[k].ended == got[k].ended);
  }
}

}  // namespace

TEST_CASE("decoding is batch-invariant: alone, in any batch, in any position, with any thread count",
          "[decode][invariance]") {
  for (const std::string type : {"transformer", "rnn_attention"}) {
    TrainedModel m = tiny_trained(type);
    const TokenizedCorpus corpus = sources(m.pipeline);
    const std::int64_t n = corpus.size();
    DecodeOptions greedy, beam, nbest, sample;
    beam.beam = 4;
    nbest.beam = 4;
    nbest.n_best = 3;
    sample.sample = true;
    sample.top_k = 4;
    sample.seed = 11;
    for (const auto& [name, options] : std::vector<std::pair<const char*, DecodeOptions>>{
             {"greedy", greedy}, {"beam 4", beam}, {"beam 4, 3-best", nbest}, {"sample", sample}}) {
      INFO(type << ", " << name);
      set_num_threads(1);
      std::vector<std::vector<Hypothesis>> alone;  // each sentence decoded by itself
      for (std::int64_t i = 0; i < n; ++i) alone.push_back(decode_rows(*m.model, corpus, {i}, options)[0]);
      // Batches: all in order, reversed, interleaved with the longest first,
      // and each sentence between two longer companions.
      std::vector<std::vector<std::int64_t>> batches(3);
      for (std::int64_t i = 0; i < n; ++i) batches[0].push_back(i), batches[1].push_back(n - 1 - i);
      batches[2] = {3, 8, 0, 11, 1, 10, 2, 9, 4, 7, 5, 6};
      for (std::int64_t i = 0; i < n; ++i) batches.push_back({3, i, 8});
      for (int threads : {1, 2}) {
        set_num_threads(threads);
        for (const auto& rows : batches) {
          const auto got = decode_rows(*m.model, corpus, rows, options);
          for (std::size_t r = 0; r < rows.size(); ++r) {
            INFO("threads " << threads << ", sentence " << rows[r] << " at position " << r << " of " << rows.size());
            require_same(alone[std::size_t(rows[r])], got[r]);
          }
        }
      }
    }
  }
  set_num_threads(0);
}
