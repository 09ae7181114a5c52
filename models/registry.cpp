#include <algorithm>
#include <map>
#include <mutex>

#include "models/rnn_attention.hpp"
#include "models/transformer.hpp"

namespace xseq {
namespace {

std::map<std::string, ModelFactory>& factories() {
  // Built-in models are registered here (not by static initialisers) so they
  // exist even when the linker drops unreferenced objects of a static library.
  static std::map<std::string, ModelFactory> m = {
      {"transformer",
       [](const ModelConfig& c, std::int64_t sv, std::int64_t tv, Rng& rng) -> std::shared_ptr<Seq2SeqModel> {
         return std::make_shared<TransformerModel>(c, sv, tv, rng);
       }},
      {"rnn_attention",
       [](const ModelConfig& c, std::int64_t sv, std::int64_t tv, Rng& rng) -> std::shared_ptr<Seq2SeqModel> {
         return std::make_shared<RNNAttentionModel>(c, sv, tv, rng);
       }},
  };
  return m;
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

bool register_model(const std::string& name, ModelFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  XSEQ_CHECK(!name.empty() && factory, "register_model: a model needs a name and a factory");
  XSEQ_CHECK(factories().count(name) == 0, "register_model: a model named '", name, "' is already registered");
  factories()[name] = std::move(factory);
  return true;
}

std::vector<std::string> registered_models() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::vector<std::string> names;
  for (const auto& e : factories()) names.push_back(e.first);
  return names;
}

std::shared_ptr<Seq2SeqModel> make_model(const ModelConfig& config, std::int64_t source_vocab,
                                         std::int64_t target_vocab, Rng& rng) {
  ModelFactory factory;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    const auto it = factories().find(config.type);
    if (it != factories().end()) factory = it->second;
  }
  if (!factory) {
    std::string known;
    for (const auto& n : registered_models()) known += (known.empty() ? "" : ", ") + n;
    XSEQ_CHECK(false, "unknown model type '", config.type, "' (registered: ", known, ")");
  }
  return factory(config, source_vocab, target_vocab, rng);
}

Tensor select_rows(const Tensor& t, const std::vector<std::int64_t>& rows) {
  Shape shape = t.shape();
  const std::int64_t row = t.numel() / std::max<std::int64_t>(1, shape[0]);
  shape[0] = static_cast<std::int64_t>(rows.size());
  Tensor out(shape);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    XSEQ_CHECK(rows[r] >= 0 && rows[r] < t.dim(0), "select_rows: row ", rows[r], " is outside [0, ", t.dim(0), ")");
    std::copy_n(t.data() + rows[r] * row, row, out.data() + static_cast<std::int64_t>(r) * row);
  }
  return out;
}

}  // namespace xseq
