#include "datasets/tasks.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <unordered_set>

#include "datasets/utf8.hpp"
#include "framework/error.hpp"
#include "framework/random.hpp"

namespace xseq {
namespace {

using Generator = std::function<TextPair(Rng&)>;

// ---- copy / reverse / sort ------------------------------------------------------------
Generator symbol_task(const TaskOptions& o, const std::string& kind) {
  XSEQ_CHECK(find_invalid_utf8(o.alphabet) == std::string::npos, "task ", kind, ": the alphabet is not valid UTF-8");
  const auto symbols = split_code_points(o.alphabet);
  XSEQ_CHECK(symbols.size() >= 2, "task ", kind, ": the alphabet needs at least 2 symbols, got '", o.alphabet, "'");
  for (const auto& s : symbols)
    XSEQ_CHECK(s != "\t" && s != "\n" && s != "\r", "task ", kind, ": the alphabet must not contain tabs or newlines");
  XSEQ_CHECK(o.min_len >= 1 && o.min_len <= o.max_len, "task ", kind, ": need 1 <= min_len <= max_len, got ", o.min_len,
             " and ", o.max_len);
  return [symbols, o, kind](Rng& rng) {
    const auto n = static_cast<std::size_t>(o.min_len + static_cast<std::int64_t>(rng.below(o.max_len - o.min_len + 1)));
    std::vector<std::size_t> idx(n);
    for (auto& i : idx) i = rng.below(symbols.size());
    std::vector<std::size_t> out = idx;
    if (kind == "reverse") std::reverse(out.begin(), out.end());
    if (kind == "sort") std::sort(out.begin(), out.end());  // alphabet order
    TextPair p;
    for (auto i : idx) p.source += symbols[i];
    for (auto i : out) p.target += symbols[i];
    return p;
  };
}

// ---- addition --------------------------------------------------------------------------
Generator addition_task(const TaskOptions& o) {
  XSEQ_CHECK(o.max_digits >= 1 && o.max_digits <= 18, "task addition: max_digits must be in [1, 18], got ",
             o.max_digits);
  return [o](Rng& rng) {
    auto number = [&] {
      const std::int64_t digits = 1 + static_cast<std::int64_t>(rng.below(o.max_digits));
      std::int64_t lo = 1;
      for (std::int64_t d = 1; d < digits; ++d) lo *= 10;
      const std::int64_t base = digits == 1 ? 0 : lo;
      return base + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(lo * 10 - base)));
    };
    const std::int64_t a = number(), b = number();
    return TextPair{std::to_string(a) + "+" + std::to_string(b), std::to_string(a + b)};
  };
}

// ---- dates ------------------------------------------------------------------------------
const char* kMonths[] = {"january", "february", "march",     "april",   "may",      "june",
                         "july",    "august",   "september", "october", "november", "december"};
const char* kDays[] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};

int days_in_month(int y, int m) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : d[m - 1];
}

int weekday(int y, int m, int d) {  // 0 = sunday (Sakamoto's method)
  static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
  if (m < 3) y -= 1;
  return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

std::string ordinal(int d) {
  const char* suffix = (d % 100 >= 11 && d % 100 <= 13) ? "th" : d % 10 == 1 ? "st" : d % 10 == 2 ? "nd" : d % 10 == 3 ? "rd" : "th";
  return std::to_string(d) + suffix;
}

std::string two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

std::string capitalised(std::string s) {
  s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

Generator dates_task() {
  return [](Rng& rng) {
    const int y = 1950 + static_cast<int>(rng.below(100));
    const int m = 1 + static_cast<int>(rng.below(12));
    const int d = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(days_in_month(y, m))));
    const std::string month = kMonths[m - 1], mon = month.substr(0, 3), day = kDays[weekday(y, m, d)];
    const std::string yy = two(y % 100), Y = std::to_string(y), D = std::to_string(d);
    const std::vector<std::string> forms = {
        day + ", " + month + " " + D + " " + Y,               // tuesday, march 5 1996
        D + "/" + std::to_string(m) + "/" + yy,                // 5/3/96 (day first)
        capitalised(month) + " " + ordinal(d) + ", " + Y,      // March 5th, 1996
        two(d) + " " + mon + " " + Y,                          // 05 mar 1996
        D + " " + month + " " + Y,                             // 5 march 1996
        month + " " + D + ", " + Y,                            // march 5, 1996
        two(d) + "." + two(m) + "." + Y,                       // 05.03.1996
        mon + " " + D + " " + Y,                               // mar 5 1996
        "the " + ordinal(d) + " of " + month + " " + Y,        // the 5th of march 1996
        D + " " + mon + " " + yy,                              // 5 mar 96
        capitalised(day) + " " + D + " " + capitalised(month) + " " + Y,  // Tuesday 5 March 1996
        capitalised(mon) + ". " + D + ", '" + yy,              // Mar. 5, '96
    };
    return TextPair{forms[rng.below(forms.size())], Y + "-" + two(m) + "-" + two(d)};
  };
}

}  // namespace

// ---- toy-translation ------------------------------------------------------------------------------
namespace toy {
namespace {

const std::vector<std::string> kNouns = {
    "cat", "dog", "bird", "horse", "cow", "goat", "pig", "rabbit", "fox", "bear", "lion", "tiger", "duck",
    "frog", "snake", "monkey", "farmer", "teacher", "doctor", "king", "queen", "girl", "boy", "friend",
    "student", "baker", "singer", "painter", "soldier", "sailor", "driver", "nurse", "judge", "writer",
    "player", "dancer", "hunter", "pilot", "cook", "guard", "merchant", "poet", "neighbor", "brother",
    "sister", "mother", "father", "uncle", "aunt", "cousin", "apple", "book", "letter", "song", "house",
    "car", "boat", "ship", "tree", "flower", "river", "mountain", "city", "village", "garden", "road",
    "bridge", "door", "window", "table", "chair", "bed", "cup", "bottle", "ball", "box", "key", "coin",
    "ring", "hat", "shoe", "coat", "bag", "basket", "stone", "star", "cloud", "lamp", "map", "picture",
    "school", "market", "forest", "field", "lake", "island", "castle", "tower", "church", "kitchen", "wall",
    "gate", "cake", "egg", "candle", "sword", "drum", "flute", "wheel", "clock", "mirror", "pencil",
    "story", "gift", "plate", "spoon"};
const std::vector<std::string> kAdjectives = {
    "big", "small", "old", "young", "red", "blue", "green", "white", "black", "happy", "sad", "tall",
    "short", "quiet", "loud", "fast", "slow", "strong", "weak", "rich", "poor", "kind", "brave", "clever",
    "lazy", "busy", "angry", "calm", "hungry", "tired", "beautiful", "ugly", "new", "warm", "cold",
    "bright", "dark", "heavy", "clean", "dirty", "famous", "strange", "friendly", "gentle"};
const std::vector<std::string> kVerbs = {
    "like", "love", "help", "watch", "visit", "carry", "push", "pull", "call", "follow", "paint", "build",
    "open", "close", "kick", "touch", "wash", "miss", "want", "need", "hate", "greet", "thank", "invite",
    "answer", "ask", "remember", "join", "fix", "move", "save", "chase", "climb", "count", "enjoy", "fill",
    "hunt", "order", "check", "mark", "lift", "kiss", "sell", "find"};
const std::vector<std::string> kPrepositions = {"in", "on", "near", "with", "under", "behind"};

// English inflection (regular words only were chosen above, except sell/find).
bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}
bool consonant_y(const std::string& s) {
  return s.size() >= 2 && s.back() == 'y' && std::string("aeiou").find(s[s.size() - 2]) == std::string::npos;
}
std::string plural(const std::string& n) {
  if (consonant_y(n)) return n.substr(0, n.size() - 1) + "ies";
  for (const char* e : {"s", "sh", "ch", "x", "z"})
    if (ends_with(n, e)) return n + "es";
  return n + "s";
}
std::string third_person(const std::string& v) { return plural(v); }
std::string past(const std::string& v) {
  if (v == "sell") return "sold";
  if (v == "find") return "found";
  if (v == "build") return "built";
  if (consonant_y(v)) return v.substr(0, v.size() - 1) + "ied";
  if (v.back() == 'e') return v + "d";
  return v + "ed";
}

// The invented lexicon: CV syllables, drawn from a fixed seed so the language
// is the same for every task seed.
const std::map<std::string, std::string>& lexicon() {
  static const std::map<std::string, std::string> words = [] {
    std::map<std::string, std::string> m;
    std::unordered_set<std::string> used = {"lo", "ke", "mi", "sun", "ka", "tuno", "seno", "tudi", "mai", "vel"};
    Rng rng(0x70A1);
    const std::string onsets = "bdfghklmnprstvz", vowels = "aeiou", codas = "nrsl";
    auto invent = [&](int syllables) {
      while (true) {
        std::string w;
        for (int s = 0; s < syllables; ++s) {
          w += onsets[rng.below(onsets.size())];
          w += vowels[rng.below(vowels.size())];
        }
        if (rng.below(3) == 0) w += codas[rng.below(codas.size())];
        if (used.insert(w).second) return w;
      }
    };
    for (const auto& w : kNouns) m[w] = invent(2);
    for (const auto& w : kAdjectives) m[w] = invent(2);
    for (const auto& w : kVerbs) m[w] = invent(2);
    for (const auto& w : kPrepositions) m[w] = invent(1);
    return m;
  }();
  return words;
}

struct NounPhrase {
  std::string english, target;
};

template <class T>
const T& pick(const std::vector<T>& v, Rng& rng) {
  return v[rng.below(v.size())];
}

// English: det [adj] noun(s).  Target: noun(+i) [adj(+i)] [det]: adjectives
// after nouns and agreeing in number, "a" has no translation.
NounPhrase noun_phrase(Rng& rng, bool plural_np) {
  static const std::vector<std::string> singular_det = {"the", "a", "this", "my"};
  static const std::vector<std::string> plural_det = {"the", "these", "my", "some"};
  static const std::map<std::string, std::string> det_target = {
      {"the", "lo"}, {"a", ""}, {"this", "ke"}, {"these", "ke"}, {"my", "mi"}, {"some", "sun"}};
  const std::string& det = pick(plural_np ? plural_det : singular_det, rng);
  const std::string& noun = pick(kNouns, rng);
  const bool has_adj = rng.below(2) == 0;
  const std::string adj = has_adj ? pick(kAdjectives, rng) : "";
  const std::string number = plural_np ? "i" : "";
  const std::string head = (has_adj ? adj + " " : "") + (plural_np ? plural(noun) : noun);
  NounPhrase np;
  np.english = (det == "a" && std::string("aeiou").find(head[0]) != std::string::npos ? "an" : det) + " " + head;
  np.target = lexicon().at(noun) + number;
  if (has_adj) np.target += " " + lexicon().at(adj) + number;
  if (!det_target.at(det).empty()) np.target += " " + det_target.at(det);
  return np;
}

}  // namespace

std::int64_t lexicon_size() { return static_cast<std::int64_t>(lexicon().size()); }

std::string translate_word(const std::string& english) {
  const auto it = lexicon().find(english);
  return it == lexicon().end() ? "" : it->second;
}

// [time ,] subject verb object [prep np] .   ->   [time'] subject' object' [np' prep'] verb' .
// The verb takes tense (past -ta, future -ko: "will see" is one word) and
// agrees with a plural subject (-n). Time words translate to one or two words.
TextPair sentence(Rng& rng) {
  enum Tense { present, past_tense, future };
  static const std::vector<std::pair<std::string, std::string>> times = {
      {"yesterday", "ka tuno"}, {"tomorrow", "ka seno"}, {"today", "tudi"}, {"often", "mai mai"},
      {"sometimes", "vel"}};
  std::string time_en, time_tgt;
  Tense tense = static_cast<Tense>(rng.below(3));
  if (rng.below(10) < 3) {
    const auto& t = pick(times, rng);
    time_en = t.first;
    time_tgt = t.second;
    if (time_en == "yesterday") tense = past_tense;
    if (time_en == "tomorrow") tense = future;
    if (time_en == "often" || time_en == "sometimes") tense = present;
  }
  const bool plural_subject = rng.below(3) == 0;
  const NounPhrase subject = noun_phrase(rng, plural_subject);
  const NounPhrase object = noun_phrase(rng, rng.below(3) == 0);
  const std::string& verb = pick(kVerbs, rng);
  std::string verb_en = tense == past_tense ? past(verb)
                        : tense == future   ? "will " + verb
                        : plural_subject    ? verb
                                            : third_person(verb);
  std::string verb_tgt = lexicon().at(verb) + (tense == past_tense ? "ta" : tense == future ? "ko" : "") +
                         (plural_subject ? "n" : "");
  std::string pp_en, pp_tgt;
  if (rng.below(10) < 4) {
    const std::string& prep = pick(kPrepositions, rng);
    const NounPhrase np = noun_phrase(rng, rng.below(3) == 0);
    pp_en = " " + prep + " " + np.english;
    pp_tgt = " " + np.target + " " + lexicon().at(prep);
  }
  TextPair p;
  p.source = (time_en.empty() ? "" : time_en + " , ") + subject.english + " " + verb_en + " " + object.english +
             pp_en + " .";
  p.target = (time_tgt.empty() ? "" : time_tgt + " ") + subject.target + " " + object.target + pp_tgt + " " +
             verb_tgt + " .";
  return p;
}

}  // namespace toy

namespace {

// The one list of tasks: task_names() (the CLI's and the config's choices) and
// make_task both read it.
struct TaskEntry {
  const char* name;
  std::function<Generator(const TaskOptions&)> make;
  const char* tokenizer;  ///< the tokenizer its text is meant for
};

const std::vector<TaskEntry>& tasks() {
  static const std::vector<TaskEntry> table = {
      {"copy", [](const TaskOptions& o) { return symbol_task(o, "copy"); }, "char"},
      {"reverse", [](const TaskOptions& o) { return symbol_task(o, "reverse"); }, "char"},
      {"sort", [](const TaskOptions& o) { return symbol_task(o, "sort"); }, "char"},
      {"addition", [](const TaskOptions& o) { return addition_task(o); }, "char"},
      {"dates", [](const TaskOptions&) { return dates_task(); }, "char"},
      {"toy-translation", [](const TaskOptions&) { return Generator(toy::sentence); }, "space"},
  };
  return table;
}

}  // namespace

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const auto& t : tasks()) names.push_back(t.name);
  return names;
}

TaskData make_task(const TaskOptions& o) {
  const auto entry = std::find_if(tasks().begin(), tasks().end(), [&](const TaskEntry& t) { return o.name == t.name; });
  if (entry == tasks().end()) {
    std::string known;
    for (const auto& n : task_names()) known += (known.empty() ? "" : ", ") + n;
    XSEQ_CHECK(false, "unknown task '", o.name, "' (expected one of: ", known, ")");
  }
  TaskData data;
  data.tokenizer = entry->tokenizer;
  const Generator gen = entry->make(o);
  XSEQ_CHECK(o.train > 0 && o.valid >= 0 && o.test >= 0, "task ", o.name,
             ": sizes must be train > 0, valid >= 0, test >= 0");
  Rng rng(o.seed);
  std::unordered_set<std::string> seen;
  const std::int64_t wanted = o.train + o.valid + o.test;
  auto fill = [&](std::vector<TextPair>& split, std::int64_t n) {
    // Distinct sources only; give up (clearly) when the task's space is too small.
    std::int64_t attempts = 0;
    while (static_cast<std::int64_t>(split.size()) < n) {
      XSEQ_CHECK(++attempts <= 50 * wanted + 1000, "task ", o.name, ": could not draw ", wanted,
                 " distinct source sentences (got ", seen.size(),
                 "): the task's settings allow too few; ask for fewer pairs or widen the settings",
                 " (length range, alphabet, max_digits)");
      TextPair p = gen(rng);
      if (seen.insert(p.source).second) split.push_back(std::move(p));
    }
  };
  fill(data.train, o.train);
  fill(data.valid, o.valid);
  fill(data.test, o.test);
  return data;
}

void write_tsv(const std::string& path, const std::vector<TextPair>& pairs) {
  std::ofstream out(path, std::ios::binary);
  XSEQ_CHECK(out.is_open(), "cannot write '", path, "'");
  for (const auto& p : pairs) out << p.source << '\t' << p.target << '\n';
  XSEQ_CHECK(out.good(), "writing '", path, "' failed");
}

}  // namespace xseq
