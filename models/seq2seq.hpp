// The seq2seq model interface, the model config and the registry that maps
// the config's model.type to a factory (user code can register its own).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framework/layers/registry.hpp"
#include "framework/precision.hpp"
#include "framework/quantize.hpp"

namespace xseq {

/// [model] of a config file (docs/config.md has every key with its meaning).
struct ModelConfig {
  std::string type = "transformer";  ///< "transformer" or "rnn_attention" (or a registered name)
  // transformer
  std::int64_t d_model = 128, heads = 4, ff_dim = 512;
  std::string positions = "sinusoidal";  ///< or "learned"
  std::int64_t max_positions = 1024;     ///< learned positions only
  bool share_embeddings = false;         ///< one embedding for both sides (needs a shared vocabulary)
  bool tie_output = true;                ///< output projection = target embedding^T
  bool norm_first = true;                ///< pre-norm layers
  std::string activation = "relu";
  // both
  std::int64_t encoder_layers = 2, decoder_layers = 2;
  float dropout = 0.1f;
  // rnn_attention
  std::int64_t embed_dim = 128, hidden = 256;
  std::string cell = "gru";
  std::string attention = "dot";  ///< seed, dot, general, concat, additive
  bool bidirectional = true;
  bool input_feeding = false;
  /// transformer and rnn_attention (a registered type may read it too): append
  /// </s> to every source sentence before the encoder (as
  /// fairseq, Marian and JoeyNMT do), so the decoder can align its own </s>
  /// with a source position instead of inferring where the source ends.
  bool source_eos = false;
  /// Extra registered layers applied to the encoder output ([[model.encoder_extra]]).
  std::vector<LayerArgs> encoder_extra;
  /// Extra registered layers on the decoder's hidden states before the output
  /// projection ([[model.decoder_extra]]; causal or position-wise layers only).
  std::vector<LayerArgs> decoder_extra;
  /// [model.options]: a registered model type's own keys, read through the
  /// OptionTable getters; make_model refuses keys the factory did not read.
  OptionTable options;
};

/// What decoding carries from step to step (encoder memory, caches, RNN state).
class DecoderState {
 public:
  virtual ~DecoderState() = default;
  /// Keeps (and reorders, repeats) the given batch rows: beam search and
  /// dropping finished sentences.
  virtual void select(const std::vector<std::int64_t>& rows) = 0;
  virtual std::int64_t batch() const = 0;
  /// Whether step() must return the attention over the source (alignments,
  /// heatmaps). The decoding functions clear it when nobody reads it, so that a
  /// model need not compute it (the Transformer then asks no layer for weights).
  bool keep_attention = true;
};

struct DecodeStep {
  Variable log_probs;  ///< (B, V) log-softmax of the next token
  /// (B, S) attention over the source (head-averaged, last layer; S + 1 with
  /// model.source_eos); may be undefined when the state's keep_attention is false.
  Variable attention;
  Variable head_attention;  ///< (B, heads, S) per head, for multi-head models (else undefined)
};

class Seq2SeqModel : public Module {
 public:
  /// Teacher-forced logits (B, T, V) for source ids (B, S) and decoder input (B, T).
  virtual Variable logits(const IndexTensor& source, const Lengths& source_lengths,
                          const IndexTensor& decoder_input, const Lengths& target_lengths) = 0;
  /// Runs the encoder for decoding.
  virtual std::unique_ptr<DecoderState> encode(const IndexTensor& source, const Lengths& source_lengths) = 0;
  /// Feeds one token per row (the previous output; <s> first) and returns the
  /// next token's log-probabilities. Costs O(t) at step t, not O(t^2).
  virtual DecodeStep step(DecoderState& state, const std::vector<std::int32_t>& tokens) = 0;
  virtual std::int64_t target_vocab() const = 0;

  /// The weights int8 inference quantises (framework/quantize.hpp): every Dense
  /// layer's weight; a model whose output projection is a tied embedding adds it.
  virtual std::vector<NamedParameter> int8_parameters() const { return dense_weights(*this); }
  /// The precision decoding, scoring and evaluation with this model run their
  /// products in (pick_decode, beam search, score_corpus and evaluate set it for
  /// their calls): fp32 unless set_inference_precision says (a quantised
  /// checkpoint loads as int8; --precision).
  Precision inference_precision() const { return inference_precision_; }
  void set_inference_precision(Precision p) { inference_precision_ = p; }

 private:
  Precision inference_precision_ = Precision::fp32;
};

/// Makes `model` decode in `p`: int8 quantises its int8_parameters() (those
/// without an int8 copy yet: a quantised checkpoint brings its own); bf16
/// needs the CPU's bf16 products (an xseq::Error naming the missing feature).
void set_model_precision(Seq2SeqModel& model, Precision p);

/// A registered model's factory reads `config` (its [model.options] through
/// config.options.get_*). make_model refuses [model.options] keys it did not read.
using ModelFactory = std::function<std::shared_ptr<Seq2SeqModel>(const ModelConfig& config, std::int64_t source_vocab,
                                                                  std::int64_t target_vocab, Rng& rng)>;
/// Registers a model type (an error if the name is taken).
bool register_model(const std::string& name, ModelFactory factory);
/// Builds config.type; an unknown type is an error listing the registered ones.
std::shared_ptr<Seq2SeqModel> make_model(const ModelConfig& config, std::int64_t source_vocab,
                                         std::int64_t target_vocab, Rng& rng);
std::vector<std::string> registered_models();
/// The model types xseq itself ships (for the docs).
std::vector<std::string> builtin_models();

/// The id models append for model.source_eos (Vocab::kEos; checked there).
inline constexpr std::int32_t kSourceEosId = 3;

/// Source ids and lengths with </s> written after each row's last token (B, S + 1);
/// the attention weights models return then have S + 1 columns, the last
/// valid one of row b (lengths[b]) being the appended </s>.
struct SourceWithEos {
  IndexTensor ids;
  Lengths lengths;
};
SourceWithEos append_source_eos(const IndexTensor& source, const Lengths& lengths);

/// What an encoder reads: the source as given, or with </s> appended when
/// `append_eos` (model.source_eos); no copy in the first case.
struct EncoderInput {
  EncoderInput(const IndexTensor& source, const Lengths& source_lengths, bool append_eos)
      : owned(append_eos ? append_source_eos(source, source_lengths) : SourceWithEos{}),
        ids(append_eos ? owned.ids : source),
        lengths(append_eos ? owned.lengths : source_lengths) {}
  EncoderInput(const EncoderInput&) = delete;  // ids/lengths may point into `owned`
  EncoderInput& operator=(const EncoderInput&) = delete;
  SourceWithEos owned;
  const IndexTensor& ids;
  const Lengths& lengths;
};

/// Rows `rows` of t along axis 0 (for DecoderState::select).
Tensor select_rows(const Tensor& t, const std::vector<std::int64_t>& rows);

}  // namespace xseq
