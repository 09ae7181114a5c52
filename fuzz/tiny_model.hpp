// The model the checkpoint seeds are saved from and the checkpoint harness
// loads into: small enough that a seed stays far below libFuzzer's max_len,
// with the pieces a checkpoint holds (nested parameter names, a generator).
#pragma once

#include <memory>

#include "framework/xseq.hpp"

namespace xseq::fuzz {

class TinyModel : public Module {
 public:
  explicit TinyModel(Rng& rng)
      : embed_(register_module("embed", std::make_shared<Embedding>(8, 4, rng))),
        out_(register_module("layers.0.out", std::make_shared<Dense>(4, 8, rng))),
        dropout_(register_module("dropout", std::make_shared<Dropout>(0.1f, rng))) {}
  Variable forward(const IndexTensor& ids) { return out_->forward(dropout_->forward(embed_->forward(ids))); }

 private:
  std::shared_ptr<Embedding> embed_;
  std::shared_ptr<Dense> out_;
  std::shared_ptr<Dropout> dropout_;
};

}  // namespace xseq::fuzz
