// _xseq: xseq::Translator and checkpoints as data. Every long call releases the GIL.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "datasets/pipeline.hpp"
#include "decode/translator.hpp"
#include "framework/checkpoint.hpp"
#include "module.h"

namespace xseq::python {

void read_search(const py::dict& d, SearchOptions& o) {
  for (const auto& [key, value] : d) {
    const std::string k = py::str(key);
    if (k == "beam") o.beam = value.cast<std::int64_t>();
    else if (k == "n_best") o.n_best = value.cast<std::int64_t>();
    else if (k == "alpha") o.alpha = value.cast<double>();
    else if (k == "max_len_ratio") o.max_len_ratio = value.cast<double>();
    else if (k == "max_len_extra") o.max_len_extra = value.cast<std::int64_t>();
    else if (k == "max_len") o.max_len = value.cast<std::int64_t>();
    else if (k == "sample") o.sample = value.cast<bool>();
    else if (k == "temperature") o.temperature = value.cast<double>();
    else if (k == "top_k") o.top_k = value.cast<std::int64_t>();
    else if (k == "top_p") o.top_p = value.cast<double>();
    else if (k == "seed") o.seed = value.cast<std::uint64_t>();
    else if (k == "attention") o.attention = value.cast<bool>();
  }
}

namespace {

// rows[i][j] -> a float32 numpy array (n, m); (0, 0) when empty.
py::array_t<float> matrix(const std::vector<std::vector<float>>& rows) {
  const std::size_t n = rows.size(), m = n ? rows[0].size() : 0;
  py::array_t<float> out({n, m});
  auto view = out.mutable_unchecked<2>();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < m; ++j) view(i, j) = j < rows[i].size() ? rows[i][j] : 0.0f;
  return out;
}

// [token][head][source] -> (tokens, heads, sources)
py::array_t<float> cube(const std::vector<std::vector<std::vector<float>>>& t) {
  const std::size_t n = t.size(), h = n ? t[0].size() : 0, m = h ? t[0][0].size() : 0;
  py::array_t<float> out({n, h, m});
  auto view = out.mutable_unchecked<3>();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < h; ++k)
      for (std::size_t j = 0; j < m; ++j) view(i, k, j) = t[i][k][j];
  return out;
}

// A call's search options: the Translator's, with what `search` (a dict or None)
// overrides; the call is about to start threads.
SearchOptions call_search(const Translator& t, const py::object& search) {
  check_not_forked();
  SearchOptions s = t.options();
  if (!search.is_none()) read_search(search.cast<py::dict>(), s);
  note_threads_used();
  return s;
}

TranslatorOptions read_options(const py::dict& d) {
  TranslatorOptions o;
  read_search(d, o);
  for (const auto& [key, value] : d) {
    const std::string k = py::str(key);
    if (k == "threads") o.threads = value.cast<int>();
    else if (k == "workers") o.workers = value.cast<int>();
    else if (k == "batch_size") o.batch_size = value.cast<std::int64_t>();
    else if (k == "batch_tokens") o.batch_tokens = value.cast<std::int64_t>();
    else if (k == "max_input") o.max_input = value.cast<std::int64_t>();
    else if (k == "truncate") o.truncate = value.cast<bool>();
    else if (k == "precision" && !value.is_none()) o.precision = value.cast<std::string>();
  }
  return o;
}

// A checkpoint's parts (config, attributes, vocabularies, parameters). The file is
// open only while a part is read: h5py (the same HDF5 library in this process)
// could not open it otherwise.
class CheckpointFile {
 public:
  explicit CheckpointFile(const std::string& path) : path_(path) {
    const auto file = open();
    try {
      const TextPipeline pipeline = TextPipeline::load(*file);
      for (bool source : {true, false}) {
        const Vocab& v = source ? pipeline.source_vocab : pipeline.target_vocab;
        auto& out = source ? source_vocab_ : target_vocab_;
        for (std::int32_t i = 0; i < v.size(); ++i) out.push_back(v.token(i));
      }
      for (const auto& key : file->attributes()) attributes_[key] = file->attribute(key);
      for (const char* group : {"params", "ema"})
        if (file->has(group))
          for (std::string name : file->datasets(group)) {
            std::replace(name.begin(), name.end(), '/', '.');
            names_[group].push_back(name);
          }
    } catch (const std::exception& e) {
      throw CheckpointError(e.what());
    }
  }
  std::string attribute(const std::string& key) const {
    const auto it = attributes_.find(key);
    return it == attributes_.end() ? "" : it->second;
  }
  const std::vector<std::string>& vocab(bool source) const { return source ? source_vocab_ : target_vocab_; }
  // Dotted names, in file order ("encoder.layers.0.self_attn.q.weight").
  std::vector<std::string> names(const std::string& group) const {
    const auto it = names_.find(group);
    return it == names_.end() ? std::vector<std::string>{} : it->second;
  }
  // A read-only float32 copy of one stored tensor.
  py::array_t<float> tensor(const std::string& group, const std::string& dotted) const {
    Tensor t;
    {
      py::gil_scoped_release release;
      t = open()->read(group + "/" + dotted_to_h5_path(dotted));
    }
    const std::vector<std::int64_t> dims = t.shape().vec();
    const std::vector<py::ssize_t> shape(dims.begin(), dims.end());
    py::array_t<float> out(shape);
    std::copy(t.data(), t.data() + t.numel(), out.mutable_data());
    out.attr("setflags")(py::arg("write") = false);
    return out;
  }

 private:
  std::unique_ptr<H5File> open() const {
    if (!std::filesystem::exists(path_)) throw CheckpointError("checkpoint '" + path_ + "' does not exist", true);
    try {
      return open_checkpoint(path_);
    } catch (const std::exception& e) {
      throw CheckpointError(e.what());
    }
  }

  std::string path_;
  std::vector<std::string> source_vocab_, target_vocab_;
  std::map<std::string, std::string> attributes_;
  std::map<std::string, std::vector<std::string>> names_;
};

}  // namespace

void bind_inference(py::module_& m) {
  py::class_<Translation>(m, "Translation", "One translation (or one entry of an n-best list).")
      .def_readonly("text", &Translation::text, "the detokenised output")
      .def_readonly("tokens", &Translation::tokens, "output tokens (target vocabulary pieces), without </s>")
      .def_readonly("score", &Translation::score, "natural-log probability of the output, </s> included")
      .def_readonly("normalized_score", &Translation::normalized_score, "score / ((5 + length) / 6) ** alpha")
      .def_readonly("ended", &Translation::ended, "the output ended with </s> (False: stopped at the length limit)")
      .def_readonly("hypotheses", &Translation::hypotheses, "the n-best list, best first (the first is this one)")
      .def_readonly("source_tokens", &Translation::source_tokens, "the source as the model read it")
      .def_readonly("truncated", &Translation::truncated, "the source was cut to max_input tokens")
      .def_readonly("unknown", &Translation::unknown, "source tokens not in the vocabulary")
      .def_property_readonly(
          "attention",
          [](const Translation& t) -> py::object {
            if (t.attention.empty()) return py::none();
            return matrix(t.attention);
          },
          "with attention=True: (output tokens, source tokens) float32 weights, else None")
      .def_property_readonly(
          "head_attention",
          [](const Translation& t) -> py::object {
            if (t.head_attention.empty()) return py::none();
            return cube(t.head_attention);
          },
          "with attention=True: (output tokens, heads, source tokens) float32 weights, else None")
      .def("__repr__", [](const Translation& t) {
        return "Translation(text=" + std::string(py::repr(py::str(t.text))) + ", score=" + std::to_string(t.score) + ")";
      });

  py::class_<TargetScore>(m, "TargetScore", "The log-probability of a target given its source.")
      .def_readonly("tokens", &TargetScore::tokens, "the target's tokens, '</s>' last")
      .def_readonly("token_log_probs", &TargetScore::token_log_probs, "natural-log probability of each token")
      .def_readonly("log_prob", &TargetScore::log_prob, "their sum")
      .def_readonly("truncated", &TargetScore::truncated, "a side was cut to max_input tokens")
      .def("__repr__", [](const TargetScore& s) { return "TargetScore(log_prob=" + std::to_string(s.log_prob) + ")"; });

  py::class_<Translator>(m, "_Translator")
      .def(py::init([](const std::vector<std::string>& paths, const py::dict& options) {
             check_not_forked();
             const TranslatorOptions o = read_options(options);
             py::gil_scoped_release release;
             return std::make_unique<Translator>(paths, o);
           }),
           py::arg("paths"), py::arg("options"))
      .def(
          "translate",
          [](const Translator& t, const std::vector<std::string>& sources, const py::object& search,
             std::int64_t first_index) {
            const SearchOptions s = call_search(t, search);
            py::gil_scoped_release release;
            return t.translate(sources, s, first_index);
          },
          py::arg("sources"), py::arg("search") = py::none(), py::arg("first_index") = 0)
      .def(
          "translate_tokens",
          [](const Translator& t, const std::vector<std::vector<std::string>>& sources, const py::object& search,
             std::int64_t first_index) {
            const SearchOptions s = call_search(t, search);
            py::gil_scoped_release release;
            return t.translate_tokens(sources, s, first_index);
          },
          py::arg("sources"), py::arg("search") = py::none(), py::arg("first_index") = 0)
      .def(
          "score",
          [](const Translator& t, const std::vector<std::string>& sources, const std::vector<std::string>& targets) {
            check_not_forked();
            note_threads_used();
            py::gil_scoped_release release;
            return t.score(sources, targets);
          },
          py::arg("sources"), py::arg("targets"))
      .def("tokenize", &Translator::tokenize, py::arg("text"))
      .def_property_readonly("checkpoints", &Translator::checkpoints)
      .def_property_readonly("max_input", &Translator::max_input)
      .def_property_readonly("threads", &Translator::threads)
      .def_property_readonly("precision", &Translator::precision);

  py::class_<CheckpointFile>(m, "_Checkpoint")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def("config", [](const CheckpointFile& c) { return c.attribute("config"); })
      .def("attribute", &CheckpointFile::attribute, py::arg("key"))
      .def("vocab", &CheckpointFile::vocab, py::arg("source"))
      .def("names", &CheckpointFile::names, py::arg("group"))
      .def("tensor", &CheckpointFile::tensor, py::arg("group"), py::arg("name"));
}

}  // namespace xseq::python
