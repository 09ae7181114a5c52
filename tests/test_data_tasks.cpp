// Synthetic tasks: determinism, correctness of targets, disjoint splits.
#include <set>

#include "datasets/tasks.hpp"
#include "helpers.hpp"

using namespace xseq;

namespace {
TaskData make(const std::string& name, std::uint64_t seed = 5) {
  TaskOptions o;
  o.name = name;
  o.train = 300;
  o.valid = 50;
  o.test = 50;
  o.seed = seed;
  return make_task(o);
}
}  // namespace

TEST_CASE("tasks: same seed same data, no source shared across splits", "[data]") {
  for (const auto& name : task_names()) {
    DYNAMIC_SECTION(name) {
      const TaskData a = make(name), b = make(name), c = make(name, 6);
      REQUIRE(a.train.size() == 300);
      CHECK(a.valid.size() == 50);
      CHECK(a.train[17].source == b.train[17].source);
      CHECK(a.test[3].target == b.test[3].target);
      CHECK(a.train[0].source != c.train[0].source);
      std::set<std::string> sources;
      for (const auto* split : {&a.train, &a.valid, &a.test})
        for (const auto& p : *split) {
          CHECK(!p.source.empty());
          CHECK(!p.target.empty());
          CHECK(p.source.find('\t') == std::string::npos);
          sources.insert(p.source);
        }
      CHECK(sources.size() == 400);
    }
  }
}

TEST_CASE("tasks: targets are right", "[data]") {
  for (const auto& p : make("reverse").train) CHECK(std::string(p.source.rbegin(), p.source.rend()) == p.target);
  for (const auto& p : make("sort").train) {
    std::string s = p.source;
    std::sort(s.begin(), s.end());
    CHECK(s == p.target);
  }
  for (const auto& p : make("addition").train) {
    const auto plus = p.source.find('+');
    CHECK(std::stoll(p.source.substr(0, plus)) + std::stoll(p.source.substr(plus + 1)) == std::stoll(p.target));
  }
  for (const auto& p : make("dates").train) {
    REQUIRE(p.target.size() == 10);
    CHECK(p.target[4] == '-');
    const int year = std::stoi(p.target.substr(0, 4));
    CHECK(year >= 1950);
    CHECK(year <= 2049);
    // The year appears in the source as 4 or 2 digits.
    CHECK((p.source.find(p.target.substr(0, 4)) != std::string::npos ||
           p.source.find(p.target.substr(2, 2)) != std::string::npos));
  }
  CHECK(make("toy-translation").tokenizer == "space");
  CHECK(make("dates").tokenizer == "char");
}

TEST_CASE("dates: weekday names agree with the date, all format families appear", "[data]") {
  TaskOptions o;
  o.name = "dates";
  o.train = 3000;
  o.valid = o.test = 0;
  const char* names[] = {"saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday"};
  int with_weekday = 0;
  bool saw_ordinal = false, saw_slash = false, saw_dots = false;
  for (const auto& p : make_task(o).train) {
    // Zeller's congruence (0 = saturday), independent of the generator's method.
    int y = std::stoi(p.target.substr(0, 4)), m = std::stoi(p.target.substr(5, 2));
    const int d = std::stoi(p.target.substr(8, 2));
    if (m < 3) {
      m += 12;
      y -= 1;
    }
    const int h = (d + 13 * (m + 1) / 5 + y % 100 + (y % 100) / 4 + (y / 100) / 4 + 5 * (y / 100)) % 7;
    std::string lower = p.source;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (int k = 0; k < 7; ++k) {
      if (lower.find(names[k]) != std::string::npos) {
        INFO(p.source << " -> " << p.target);
        CHECK(k == h);
        ++with_weekday;
      }
    }
    saw_ordinal = saw_ordinal || p.source.find("th,") != std::string::npos;
    saw_slash = saw_slash || p.source.find('/') != std::string::npos;
    saw_dots = saw_dots || p.source.find('.') == 2;
  }
  CHECK(with_weekday > 300);
  CHECK(saw_ordinal);
  CHECK(saw_slash);
  CHECK(saw_dots);
}

TEST_CASE("toy-translation: SOV order, adjectives after nouns, agreement, many-to-one words", "[data]") {
  CHECK(toy::lexicon_size() > 200);
  const std::string cat = toy::translate_word("cat"), big = toy::translate_word("big"),
                    like = toy::translate_word("like");
  REQUIRE(!cat.empty());
  CHECK(toy::translate_word("zebra").empty());
  bool checked_future = false;
  int checked_agreement = 0;
  for (const auto& p : make("toy-translation").train) {
    // "the big cat" -> "<cat> <big> lo"; "the big cats" -> "<cat>i <big>i lo".
    if (p.source.rfind("the big cat ", 0) == 0) CHECK(p.target.rfind(cat + " " + big + " lo ", 0) == 0);
    if (p.source.rfind("the big cats ", 0) == 0) CHECK(p.target.rfind(cat + "i " + big + "i lo ", 0) == 0);
    // "will like" (two words) -> one verb word with the future suffix, last before ".".
    if (p.source.find(" will like ") != std::string::npos) {
      const bool plural_subject = p.target.find(" " + like + "kon .") != std::string::npos;
      CHECK((p.target.size() > like.size() + 4 &&
             (p.target.find(" " + like + "ko .") != std::string::npos || plural_subject)));
      checked_future = true;
    }
    // The verb comes last and carries tense and subject agreement.
    const std::string verb = p.target.substr(0, p.target.size() - 2).substr(p.target.rfind(' ', p.target.size() - 3) + 1);
    const auto comma = p.source.find(" , ");
    const std::string clause = comma == std::string::npos ? p.source : p.source.substr(comma + 3);
    const bool plural_subject = clause.rfind("these ", 0) == 0 || clause.rfind("some ", 0) == 0;
    const std::string tense = p.source.find(" will ") != std::string::npos ? "ko"
                              : p.source.rfind("yesterday", 0) == 0   ? "ta"
                                                                         : "";
    auto ends_with = [&](const std::string& e) {
      return verb.size() > e.size() && verb.compare(verb.size() - e.size(), e.size(), e) == 0;
    };
    INFO(p.source << " -> " << p.target);
    if (!tense.empty()) {
      CHECK((ends_with(tense) || ends_with(tense + "n")));
      ++checked_agreement;
    }
    if (plural_subject) CHECK(ends_with("n"));  // "these"/"some" mark a plural subject
    CHECK(p.target.compare(p.target.size() - 2, 2, " .") == 0);
  }
  CHECK(checked_future);
  CHECK(checked_agreement > 50);
  CHECK_THROWS_WITH(make("copy-paste"), Catch::Contains("unknown task 'copy-paste'"));
  TaskOptions tiny;
  tiny.name = "copy";
  tiny.alphabet = "ab";
  tiny.min_len = tiny.max_len = 2;
  tiny.train = 10;
  CHECK_THROWS_WITH(make_task(tiny), Catch::Contains("could not draw 1010 distinct source sentences (got 4): the task"));
}
