// Batches: padding, shifted decoder rows, token budgets, bucketing, exact resume.
#include <set>

#include "datasets/batching.hpp"
#include "helpers.hpp"

using namespace xseq;

namespace {
// n pairs with source length 1 + i % 17 and a target length within 2 of it
// (translation-like: the two sides' lengths go together).
TokenizedCorpus synthetic_corpus(std::int64_t n) {
  TokenizedCorpus c;
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<std::int32_t> s(static_cast<std::size_t>(1 + i % 17), 4 + static_cast<std::int32_t>(i % 5));
    std::vector<std::int32_t> t(static_cast<std::size_t>(1 + i % 17 + (i * 7) % 3), 5);
    c.add(s, t, i);
  }
  return c;
}
}  // namespace

TEST_CASE("make_batch: padded ids, lengths, decoder input and output", "[data]") {
  TokenizedCorpus c;
  c.add({10, 11, 12}, {20, 21}, 0);
  c.add({13}, {22, 23, 24}, 1);
  const Batch b = make_batch(c, {0, 1});
  CHECK(b.source.shape == Shape({2, 3}));
  CHECK(b.source.data == std::vector<std::int32_t>{10, 11, 12, 13, 0, 0});
  CHECK(b.decoder_input.shape == Shape({2, 4}));
  CHECK(b.decoder_input.data == std::vector<std::int32_t>{2, 20, 21, 0, 2, 22, 23, 24});
  CHECK(b.decoder_output.data == std::vector<std::int32_t>{20, 21, 3, 0, 22, 23, 24, 3});
  CHECK(b.source_lengths == Lengths{3, 1});
  CHECK(b.target_lengths == Lengths{3, 4});
  CHECK(b.source_tokens() == 4);
  CHECK(b.target_tokens() == 7);
  CHECK(b.padding_fraction() == Approx(1.0 - 11.0 / 14.0));
}

TEST_CASE("BatchIterator: every pair once per epoch, sentence and token budgets", "[data]") {
  const TokenizedCorpus c = synthetic_corpus(1000);
  BatchOptions o;
  o.batch_size = 32;
  BatchIterator by_count(c, o);
  std::multiset<std::int64_t> seen;
  for (const auto& batch : by_count.plan()) {
    CHECK(static_cast<std::int64_t>(batch.size()) <= 32);
    seen.insert(batch.begin(), batch.end());
  }
  CHECK(seen.size() == 1000);
  CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 1000);

  o.batch_tokens = 200;
  BatchIterator by_tokens(c, o);
  for (std::int64_t k = 0; k < by_tokens.batches_per_epoch(); ++k) {
    const Batch b = by_tokens.next();
    const std::int64_t padded = b.size() * std::max(b.source.shape[1], b.decoder_output.shape[1]);
    CHECK(padded <= 200);
  }
  CHECK(by_tokens.epoch() == 0);
  by_tokens.next();
  CHECK(by_tokens.epoch() == 1);
}

TEST_CASE("BatchIterator: length bucketing keeps padding low", "[data]") {
  const TokenizedCorpus c = synthetic_corpus(2000);
  BatchOptions o;
  o.batch_size = 32;
  o.bucket = false;
  const double plain = BatchIterator(c, o).padding_fraction();
  o.bucket = true;
  const double bucketed = BatchIterator(c, o).padding_fraction();
  INFO("padding without bucketing " << plain << ", with " << bucketed);
  // Random batches of lengths 1..17 pad to about their maximum (~0.4); sorted
  // pools leave only the source/target length difference (<= 2 of ~10 tokens).
  CHECK(plain > 0.35);
  CHECK(bucketed < 0.1);
}

TEST_CASE("BatchIterator: a restored position replays exactly the uninterrupted batches", "[data]") {
  const TokenizedCorpus c = synthetic_corpus(300);
  BatchOptions o;
  o.batch_size = 16;
  o.seed = 77;
  BatchIterator uninterrupted(c, o);
  std::vector<std::vector<std::int64_t>> expected;
  for (int k = 0; k < 60; ++k) expected.push_back(uninterrupted.next().indices);  // crosses 3 epochs

  BatchIterator first(c, o);
  for (int k = 0; k < 27; ++k) first.next();
  const BatchIterator::State saved = first.state();
  BatchIterator resumed(c, o);  // a new process
  resumed.restore(saved);
  for (int k = 27; k < 60; ++k) REQUIRE(resumed.next().indices == expected[static_cast<std::size_t>(k)]);

  // Epochs differ from each other, and another seed gives another order.
  CHECK(expected[0] != expected[static_cast<std::size_t>(uninterrupted.batches_per_epoch())]);
  o.seed = 78;
  CHECK(BatchIterator(c, o).next().indices != expected[0]);
  CHECK_THROWS_WITH(resumed.restore({0, 999}), Catch::Contains("batch 999 is past the"));
}
