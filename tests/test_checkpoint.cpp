// Checkpoints: round trip, mismatch errors, bad files, atomic saves.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "decode/trained_model.hpp"
#include "decode/translator.hpp"
#include "helpers.hpp"
#include "train/averaging.hpp"

using namespace xseq;

namespace {
class Net : public Module {
 public:
  Net(std::int64_t hidden, Rng& rng) {
    a_ = register_module("a", std::make_shared<Dense>(3, hidden, rng));
    drop_ = register_module("drop", std::make_shared<Dropout>(0.5f, rng));
  }
  std::shared_ptr<Dense> a_;
  std::shared_ptr<Dropout> drop_;
};
}  // namespace

TEST_CASE("checkpoint: parameters, optimizer state, generators and extras round-trip", "[checkpoint]") {
  Rng rng(1);
  Net net(4, rng);
  Adam adam(net.named_parameters(), Adam::Options{});
  for (auto& p : net.parameters()) p.accumulate_grad(Tensor::ones(p.shape()));
  adam.step(0.1f);
  adam.zero_grad();
  net.drop_->rng().next_u64();
  CheckpointExtras extras;
  extras.attributes["step"] = "7";
  extras.strings["vocab/src"] = "#xseq-vocab 1\nä\n";
  save_checkpoint("test_ckpt.h5", net, &adam, extras);

  Rng other(2);
  Net copy(4, other);
  Adam adam2(copy.named_parameters(), Adam::Options{});
  auto file = open_checkpoint("test_ckpt.h5");
  load_parameters(*file, copy);
  adam2.load_state(*file, "optimizer");
  load_rng_states(*file, copy);
  CHECK(max_abs_diff(copy.parameter("a.weight").value(), net.parameter("a.weight").value()) == 0.0f);
  CHECK(adam2.steps() == 1);
  CHECK(copy.drop_->rng().counter() == net.drop_->rng().counter());
  CHECK(copy.drop_->rng().seed() == net.drop_->rng().seed());
  CHECK(file->attribute("step") == "7");
  CHECK(file->read_string("vocab/src") == "#xseq-vocab 1\nä\n");
  // Both continue identically.
  for (auto* n : {&net, &copy})
    for (auto& p : n->parameters()) p.accumulate_grad(Tensor::full(p.shape(), 0.5f));
  adam.step(0.1f);
  adam2.step(0.1f);
  CHECK(max_abs_diff(copy.parameter("a.bias").value(), net.parameter("a.bias").value()) == 0.0f);
  SGD sgd(copy.named_parameters());
  CHECK_THROWS_WITH(sgd.load_state(*file, "optimizer"), Catch::Contains("holds adam optimizer state, but the config asks for sgd"));
  std::remove("test_ckpt.h5");
}

TEST_CASE("checkpoint: mismatched models and bad files are clear errors", "[checkpoint]") {
  Rng rng(1);
  Net net(4, rng);
  save_checkpoint("test_mismatch.h5", net, nullptr, {});
  auto file = open_checkpoint("test_mismatch.h5");
  Net wider(5, rng);
  CHECK_THROWS_WITH(load_parameters(*file, wider),
                    "checkpoint 'test_mismatch.h5': parameter 'a.weight' has shape (4, 3) but the model's is (5, 3)");
  Dense lone(3, 4, rng);
  CHECK_THROWS_WITH(load_parameters(*file, lone), Catch::Contains("has no parameter 'weight' that the model needs"));
  class Bigger : public Module {
   public:
    explicit Bigger(Rng& r) { register_module("a", std::make_shared<Dense>(3, 4, r, Dense::Options{false, Activation::none})); }
  } smaller(rng);
  CHECK_THROWS_WITH(load_parameters(*file, smaller), Catch::Contains("has a parameter 'a.bias' the model does not"));

  CHECK_THROWS_WITH(open_checkpoint("no_such.h5"), "checkpoint 'no_such.h5' does not exist");
  { std::ofstream("test_text.h5") << "not hdf5 at all"; }
  CHECK_THROWS_WITH(open_checkpoint("test_text.h5"), Catch::Contains("checkpoint 'test_text.h5' cannot be read") &&
                                                        Catch::Contains("not a readable HDF5 file") &&
                                                        Catch::Contains("file signature not found"));
  // A truncated checkpoint (a crash without atomic writes would leave one).
  std::filesystem::copy_file("test_mismatch.h5", "test_trunc.h5", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file("test_trunc.h5", std::filesystem::file_size("test_trunc.h5") / 2);
  CHECK_THROWS_WITH(open_checkpoint("test_trunc.h5"), Catch::Contains("not a readable HDF5 file") && Catch::Contains("truncated file"));
  {
    H5File other("test_other.h5", H5File::Mode::truncate);
    other.write("x", Tensor::ones({1}));
  }
  CHECK_THROWS_WITH(open_checkpoint("test_other.h5"), Catch::Contains("not an xseq checkpoint"));
  {
    H5File future("test_future.h5", H5File::Mode::truncate);
    future.set_attribute("format_version", "99");
  }
  CHECK_THROWS_WITH(open_checkpoint("test_future.h5"), "checkpoint 'test_future.h5' has format version 99; this xseq reads versions 1 to 3");
  for (const char* f : {"test_mismatch.h5", "test_text.h5", "test_trunc.h5", "test_other.h5", "test_future.h5"}) std::remove(f);
}

TEST_CASE("checkpoint: a save that fails midway leaves the previous file intact", "[checkpoint]") {
  Rng rng(3);
  Net net(4, rng);
  save_checkpoint("test_atomic.h5", net, nullptr, {});
  const Tensor before = net.parameter("a.weight").value().clone();
  net.a_->set_parameter("weight", Tensor::zeros({4, 3}));
  CheckpointExtras bad;
  bad.strings[""] = "an empty dataset name makes HDF5 fail after the parameters were written";
  CHECK_THROWS(save_checkpoint("test_atomic.h5", net, nullptr, bad));
  auto file = open_checkpoint("test_atomic.h5");
  Net loaded(4, rng);
  load_parameters(*file, loaded);
  CHECK(max_abs_diff(loaded.parameter("a.weight").value(), before) == 0.0f);
  for (const auto& entry : std::filesystem::directory_iterator("."))
    CHECK(entry.path().filename().string().rfind("test_atomic.h5.tmp", 0) != 0);  // no temporary left
  std::remove("test_atomic.h5");
}

TEST_CASE("checkpoint: a committed format-2 file verifies with zlib's CRC-32 and still loads", "[checkpoint]") {
  // tests/fixtures/checkpoint-v2-sentencepiece.h5 was written by xseq 0.2 (format
  // 2: its own CRC-32 code, the SentencePiece model as base64 text).
  const std::string v2 = std::string(XSEQ_FIXTURE_DIR) + "/checkpoint-v2-sentencepiece.h5";
  auto file = open_checkpoint(v2);
  CHECK(file->attribute("format_version") == "2");
  CHECK(file->has("tokenizer/sentencepiece_base64"));
  CHECK_NOTHROW(file->verify());  // every stored checksum equals zlib's crc32 of the same bytes
  const TrainedModel old = load_trained_model(v2);
  CHECK(old.pipeline.tokenizer->name() == "sentencepiece");
  // Saved again, it is format 3 with the model as bytes, and decodes the same.
  const std::string v3 = "test_checkpoint_v3.h5";
  average_checkpoints({v2, v2}, v3);  // the same weights (a + a) / 2, written anew
  auto again = open_checkpoint(v3);
  CHECK(again->attribute("format_version") == "3");
  CHECK(again->has("tokenizer/sentencepiece"));
  CHECK_FALSE(again->has("tokenizer/sentencepiece_base64"));
  CHECK(stored_sentencepiece(*again) == stored_sentencepiece(*file));
  const TrainedModel now = load_trained_model(v3);
  const std::vector<std::string> input{"abc", "fedcba", "ab"};
  CHECK(Translator(v2).translate(input)[1].text == Translator(v3).translate(input)[1].text);
  for (std::size_t i = 0; i < input.size(); ++i)
    CHECK(now.pipeline.tokenizer->encode(input[i]) == old.pipeline.tokenizer->encode(input[i]));
  std::remove(v3.c_str());
}
