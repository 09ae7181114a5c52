#include "train/averaging.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "decode/trained_model.hpp"

namespace xseq {
namespace {

// "ckpt-<digits>.h5" -> the step, else -1.
std::int64_t step_of(const std::string& name) {
  if (name.size() < 9 || name.compare(0, 5, "ckpt-") != 0 || name.compare(name.size() - 3, 3, ".h5") != 0) return -1;
  const std::string digits = name.substr(5, name.size() - 8);
  if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

// Adds (or, for the first, copies) each parameter of `model` into `sums`.
void accumulate(const std::vector<NamedParameter>& params, std::vector<Tensor>& sums) {
  const bool first = sums.empty();
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (first) {
      sums.push_back(params[i].variable.value().clone());
      continue;
    }
    float* s = sums[i].data();
    const float* v = params[i].variable.value().data();
    for (std::int64_t j = 0; j < sums[i].numel(); ++j) s[j] += v[j];
  }
}

}  // namespace

std::string step_checkpoint_path(const std::string& dir, std::int64_t step) {
  return (std::filesystem::path(dir) / ("ckpt-" + std::to_string(step) + ".h5")).string();
}

std::vector<std::string> step_checkpoints(const std::string& dir) {
  std::vector<std::pair<std::int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::int64_t step = step_of(entry.path().filename().string());
    if (step >= 0) found.emplace_back(step, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& f : found) paths.push_back(std::move(f.second));
  return paths;
}

std::size_t remove_old_step_checkpoints(const std::string& dir, std::int64_t keep) {
  const std::vector<std::string> all = step_checkpoints(dir);
  std::size_t removed = 0;
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < all.size(); ++i)
    removed += std::remove(all[i].c_str()) == 0;
  return removed;
}

std::vector<std::string> newest_step_checkpoints(const std::string& dir, std::int64_t count) {
  XSEQ_CHECK(std::filesystem::is_directory(dir), "'", dir, "' is not a run directory");
  const std::vector<std::string> all = step_checkpoints(dir);
  XSEQ_CHECK(static_cast<std::int64_t>(all.size()) >= count, "'", dir, "' holds ", all.size(),
             " step checkpoints (ckpt-<step>.h5), fewer than the ", count,
             " asked for (train.keep_checkpoints sets how many a run keeps)");
  return {all.end() - count, all.end()};
}

void average_checkpoints(const std::vector<std::string>& paths, const std::string& out) {
  XSEQ_CHECK(paths.size() >= 2, "xseq average: give at least two checkpoints");
  for (const auto& p : paths) check_not_quantized(*open_checkpoint(p), "xseq average");
  TrainedModel first = load_trained_model(paths[0]);
  const auto first_file = open_checkpoint(paths[0]);
  std::vector<Tensor> sums;
  accumulate(first.model->named_parameters(), sums);
  for (std::size_t k = 1; k < paths.size(); ++k) {
    const std::string& path = paths[k];
    auto file = open_checkpoint(path);
    XSEQ_CHECK(file->read_string("vocab/src") == first_file->read_string("vocab/src") &&
                   file->read_string("vocab/tgt") == first_file->read_string("vocab/tgt"),
               "xseq average: '", path, "' has other vocabularies than '", paths[0], "' (another model?)");
    Rng rng(0);
    auto model = make_model(first.config.model, first.pipeline.source_vocab.size(), first.pipeline.target_vocab.size(), rng);
    try {
      load_inference_parameters(*file, *model);
    } catch (const Error& e) {
      XSEQ_CHECK(false, "xseq average: '", path, "' does not match '", paths[0], "': ", e.what());
    }
    accumulate(model->named_parameters(), sums);
  }
  const float scale = 1.0f / static_cast<float>(paths.size());
  const std::vector<NamedParameter> params = first.model->named_parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    float* s = sums[i].data();
    for (std::int64_t j = 0; j < sums[i].numel(); ++j) s[j] *= scale;
    first.model->set_parameter(params[i].name, sums[i]);
  }
  CheckpointExtras extras;
  first.pipeline.save(extras);
  extras.attributes["config"] = first_file->attribute("config");
  extras.attributes["plugins"] = first_file->attribute("plugins");
  extras.attributes["step"] = first_file->attribute("step");
  std::string sources;
  for (const auto& p : paths) sources += (sources.empty() ? "" : " ") + p;
  extras.attributes["averaged_from"] = sources;
  save_checkpoint(out, *first.model, nullptr, extras);
}

void average_or_copy(const std::vector<std::string>& paths, const std::string& out) {
  if (paths.size() != 1) {
    average_checkpoints(paths, out);
    return;
  }
  load_trained_model(paths[0]);  // refuses a damaged or foreign file before it is copied
  check_not_quantized(*open_checkpoint(paths[0]), "xseq average");
  std::filesystem::copy_file(paths[0], out, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace xseq
