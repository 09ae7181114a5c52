// Evaluation metrics and the eval/translate commands' errors.
#include "helpers.hpp"
#include "train/cli.hpp"
#include "train/evaluation.hpp"

using namespace xseq;

TEST_CASE("edit distance over token ids", "[eval]") {
  CHECK(edit_distance({}, {}) == 0);
  CHECK(edit_distance({1, 2, 3}, {1, 2, 3}) == 0);
  CHECK(edit_distance({1, 2, 3}, {1, 3}) == 1);        // one deletion
  CHECK(edit_distance({1, 2}, {2, 1}) == 2);           // no transpositions
  CHECK(edit_distance({}, {4, 5, 6}) == 3);
  CHECK(edit_distance({7, 8, 9, 10}, {7, 0, 9}) == 2);  // substitution + deletion
}

TEST_CASE("eval and translate: a missing checkpoint or file is a clear error", "[eval]") {
  auto run = [](std::vector<std::string> words) {
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    return cli::run(static_cast<int>(argv.size()), argv.data());
  };
  CHECK(run({"xseq", "eval", "--checkpoint", "no/such.h5", "--data", "x.tsv"}) == 1);
  CHECK(run({"xseq", "eval", "--data", "x.tsv"}) == 1);
  CHECK(run({"xseq", "translate", "--checkpoint", "no/such.h5"}) == 1);
  CHECK(run({"xseq", "translate", "--help"}) == 0);
  CHECK(run({"xseq", "frobnicate"}) == 2);
}
