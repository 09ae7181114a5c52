// _xseq: training, evaluation, configs, metrics and the layer check. Every long
// call releases the GIL; a training callback takes it back for each log record.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "config/config.hpp"
#include "decode/translator.hpp"
#include "eval/evaluation.hpp"
#include "eval/metrics.hpp"
#include "framework/layer_check.hpp"
#include "framework/precision.hpp"
#include "module.h"
#include "train/trainer.hpp"

namespace xseq::python {
namespace {

py::dict metrics_dict(const std::map<std::string, double>& metrics) {
  py::dict out;
  for (const auto& [k, v] : metrics) out[py::str(k)] = v;
  return out;
}

// `config` is TOML text (a file's, or the Python wrapper's rendering of a dict),
// `origin` the name errors give it (a path: relative plugins resolve from there).
py::dict train(const std::string& text, const std::string& origin, const std::vector<std::string>& overrides,
               bool from_file, bool resume, const std::string& init_from,
               const std::function<bool(const std::string&)>& on_log) {
  check_not_forked();
  const Config config = from_file ? load_config(origin, overrides) : parse_config(text, origin, overrides);
  TrainOptions options;
  options.resume = resume;
  options.init_from = init_from;
  options.on_log = on_log;
  note_threads_used();
  TrainResult r;
  {
    py::gil_scoped_release release;
    r = train_model(config, options);
  }
  py::dict out;
  out["run_dir"] = config.train.out_dir;
  out["steps"] = r.steps;
  out["stop_reason"] = r.stop_reason;
  out["exit_code"] = r.exit_code;
  out["valid"] = metrics_dict(r.valid);
  out["test"] = metrics_dict(r.test);
  out["test_averaged"] = metrics_dict(r.test_averaged);
  return out;
}

py::tuple evaluate(const std::vector<std::string>& checkpoints, const std::string& data, const py::dict& decode,
                   std::int64_t batch_size, std::int64_t max_input, int threads, const std::string& precision) {
  check_not_forked();
  TestSetOptions o;
  SearchOptions search;  // checked by the Translator's rules
  read_search(decode, search);
  search.validate();
  o.decode = decode_options(search);
  o.batch_size = batch_size;
  o.max_input = max_input;
  o.threads = threads;
  XSEQ_CHECK_AS(OptionError, precision.empty() || is_precision_name(precision),
                "precision must be fp32, bf16, int8 or None (the checkpoint's), got '", precision, "'");
  o.precision = precision;
  std::string used;
  o.precision_used = &used;
  std::vector<std::string> hyps;
  o.hypotheses = &hyps;
  note_threads_used();
  std::map<std::string, double> metrics;
  {
    py::gil_scoped_release release;
    metrics = evaluate_test_set(checkpoints, data, o);
  }
  py::dict found = metrics_dict(metrics);
  found["precision"] = used;
  return py::make_tuple(found, hyps);
}

LayerOption layer_option(const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return LayerOption(v.cast<bool>());
  if (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)) return LayerOption(v.cast<double>());
  if (py::isinstance<py::str>(v)) return LayerOption(v.cast<std::string>());
  throw OptionError("gradcheck: a layer option must be a bool, a number or a string, got " +
                    std::string(py::str(py::type::of(v))));
}

py::dict gradcheck(const std::string& layer, std::int64_t dim, double dropout, const py::dict& options,
                   std::uint64_t seed, std::int64_t max_elements) {
  check_not_forked();
  LayerCheckOptions o;
  o.layer = layer;
  o.dim = dim;
  o.dropout = dropout;
  for (const auto& [key, value] : options) o.options[py::str(key)] = layer_option(value);
  o.seed = seed;
  o.max_elements = max_elements;
  note_threads_used();
  LayerCheckReport r;
  {
    py::gil_scoped_release release;
    r = check_layer(o);
  }
  py::list lines;
  for (const auto& l : r.lines) {
    py::dict d;
    d["mode"] = l.mode;
    d["tensor"] = l.tensor;
    d["max_abs_error"] = l.max_abs_error;
    d["relative_error"] = l.relative_error;
    d["error_over_tolerance"] = l.worst_ratio;
    d["accumulation_deviation"] = l.accumulation_deviation;
    d["kinks"] = l.kinks;
    d["ok"] = l.ok;
    lines.append(d);
  }
  py::dict out;
  out["layer"] = r.layer;
  out["ok"] = r.ok();
  out["failures"] = r.failures();
  out["checks"] = r.checks();
  out["lines"] = lines;
  out["time_mixing"] = r.time_mixing;
  out["time_mixing_ok"] = r.time_mixing_ok;
  out["text"] = r.text();
  return out;
}

}  // namespace

void bind_training(py::module_& m) {
  m.def("_train", &train, py::arg("text"), py::arg("origin"), py::arg("overrides"), py::arg("from_file"),
        py::arg("resume"), py::arg("init_from"), py::arg("on_log"));
  m.def("_evaluate", &evaluate, py::arg("checkpoints"), py::arg("data"), py::arg("decode"), py::arg("batch_size"),
        py::arg("max_input"), py::arg("threads"), py::arg("precision"));
  m.def(
      "_config_load",
      [](const std::string& path, const std::vector<std::string>& overrides) {
        return load_config(path, overrides).to_toml();
      },
      py::arg("path"), py::arg("overrides"));
  m.def(
      "_config_parse",
      [](const std::string& text, const std::string& origin, const std::vector<std::string>& overrides) {
        return parse_config(text, origin, overrides).to_toml();
      },
      py::arg("text"), py::arg("origin"), py::arg("overrides"));
  m.def(
      "_bleu",
      [](const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& streams) {
        try {
          return corpus_bleu(hyps, streams);
        } catch (const Error& e) {
          throw InputError(e.what());
        }
      },
      py::arg("hypotheses"), py::arg("streams"));
  m.def(
      "_chrf",
      [](const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& streams) {
        try {
          return corpus_chrf(hyps, streams);
        } catch (const Error& e) {
          throw InputError(e.what());
        }
      },
      py::arg("hypotheses"), py::arg("streams"));
  m.def("_gradcheck", &gradcheck, py::arg("layer"), py::arg("dim"), py::arg("dropout"), py::arg("options"),
        py::arg("seed"), py::arg("max_elements"));
}

}  // namespace xseq::python
