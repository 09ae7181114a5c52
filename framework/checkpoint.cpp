#include "framework/checkpoint.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

#include "framework/quantize.hpp"

namespace xseq {
namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

void sync_directory(const std::string& path, const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // not openable for reading: the rename is done, nothing to sync through
  const int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  XSEQ_CHECK(err == 0 || err == EINVAL, "checkpoint '", path, "' was renamed into place, but syncing directory '",
             directory, "' failed: ", std::strerror(err));
}

// The parameters of `model` not in `quantized` (by name), as /params holds them.
std::vector<NamedParameter> fp32_parameters(const Module& model, const std::vector<NamedParameter>& quantized) {
  std::set<std::string> skip;
  for (const auto& q : quantized) skip.insert(q.name);
  std::vector<NamedParameter> out;
  for (const auto& p : model.named_parameters())
    if (!skip.count(p.name)) out.push_back(p);
  return out;
}

void write_checkpoint(const std::string& tmp, Module& model, const Optimizer* optimizer,
                      const CheckpointExtras& extras, const std::vector<NamedParameter>& quantized) {
  H5File file(tmp, H5File::Mode::truncate);
  file.set_attribute("format_version", std::to_string(kCheckpointFormatVersion));
  for (const auto& p : fp32_parameters(model, quantized))
    file.write("params/" + dotted_to_h5_path(p.name), p.variable.value());
  if (!quantized.empty()) file.set_attribute(kQuantizedAttribute, "int8");
  for (const auto& p : quantized) {
    QuantizedMatrix fresh;
    const QuantizedMatrix& q = p.variable.int8_weights() ? *p.variable.int8_weights()
                                                          : (fresh = quantize_rows(p.variable.value()));
    const std::string path = dotted_to_h5_path(p.name);
    file.write_bytes("int8/" + path, std::string(reinterpret_cast<const char*>(q.values.data()), q.values.size()));
    Tensor scales({q.rows});
    std::copy(q.scales.begin(), q.scales.end(), scales.data());
    file.write("int8_scales/" + path, scales);
  }
  if (optimizer) optimizer->save_state(file, "optimizer");
  std::ostringstream rngs;
  for (const auto& [name, rng] : model.named_rngs()) rngs << name << ' ' << rng->seed() << ' ' << rng->counter() << '\n';
  file.set_attribute("rng", rngs.str());
  for (const auto& [key, value] : extras.attributes) file.set_attribute(key, value);
  for (const auto& [name, value] : extras.strings) file.write_string(name, value);
  for (const auto& [name, value] : extras.bytes) file.write_bytes(name, value);
  for (const auto& [group, tensors] : extras.groups)
    for (const auto& t : tensors) file.write(group + "/" + dotted_to_h5_path(t.name), t.variable.value());
  file.close();
}

// Reads the temporary back before it may replace anything: the format version, the
// parameter list, and every dataset and attribute against its checksum.
void verify_written(const std::string& tmp, Module& model, const std::vector<NamedParameter>& quantized) {
  H5File file(tmp, H5File::Mode::read);
  XSEQ_CHECK(file.checksummed() && file.attribute("format_version") == std::to_string(kCheckpointFormatVersion),
             "reading '", tmp, "' back found no checksum list or format version");
  std::vector<std::string> expected;
  for (const auto& p : fp32_parameters(model, quantized)) expected.push_back(dotted_to_h5_path(p.name));
  std::sort(expected.begin(), expected.end());
  XSEQ_CHECK((expected.empty() && !file.has("params")) || file.datasets("params") == expected, "reading '", tmp,
             "' back found other parameters than were written");
  file.verify();
}

void check_finite(const Tensor& value, const std::string& file, const std::string& name) {
  const float* v = value.data();
  for (std::int64_t i = 0; i < value.numel(); ++i)
    XSEQ_CHECK(std::isfinite(v[i]), "checkpoint '", file, "': parameter '", name, "' holds ", v[i], " at flat index ", i,
               " of ", value.shape(), "; refusing to load non-finite weights");
}

// "<anything>.h5.tmp-<digits>" -> the pid, else 0.
pid_t temporary_owner(const std::string& name) {
  const auto at = name.rfind(".h5.tmp-");
  if (at == std::string::npos) return 0;
  const std::string digits = name.substr(at + 8);
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return static_cast<pid_t>(std::stol(digits));
}

}  // namespace

void save_checkpoint(const std::string& path, Module& model, const Optimizer* optimizer,
                     const CheckpointExtras& extras) {
  save_quantized_checkpoint(path, model, {}, extras, optimizer);
}

void save_quantized_checkpoint(const std::string& path, Module& model, const std::vector<NamedParameter>& quantized,
                               const CheckpointExtras& extras, const Optimizer* optimizer) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  try {
    write_checkpoint(tmp, model, optimizer, extras, quantized);
    verify_written(tmp, model, quantized);
  } catch (const Error& e) {
    std::remove(tmp.c_str());
    XSEQ_CHECK(false, "cannot save checkpoint '", path, "' (a previous one stays as it was): ", e.what());
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    XSEQ_CHECK(false, "cannot save checkpoint '", path, "': renaming '", tmp, "' over it failed: ", std::strerror(err));
  }
  sync_directory(path, directory_of(path));
}

std::unique_ptr<H5File> open_checkpoint(const std::string& path) {
  XSEQ_CHECK(::access(path.c_str(), F_OK) == 0, "checkpoint '", path, "' does not exist");
  std::unique_ptr<H5File> file;
  try {
    file = std::make_unique<H5File>(path, H5File::Mode::read);
  } catch (const Error& e) {
    XSEQ_CHECK(false, "checkpoint '", path, "' cannot be read: ", e.what());
  }
  const std::string version = file->attribute("format_version");
  XSEQ_CHECK(!version.empty(), "'", path, "' is an HDF5 file but not an xseq checkpoint (no format_version)");
  XSEQ_CHECK(version == "1" || version == "2" || version == "3", "checkpoint '", path, "' has format version ",
             version, "; this xseq reads versions 1 to 3");
  XSEQ_CHECK(version == "1" || file->checksummed(), "checkpoint '", path, "' is corrupt: format version ", version,
             " but no checksum list");
  return file;
}

std::string inference_group(const H5File& file) { return file.has("ema") ? "ema" : "params"; }

void load_inference_parameters(const H5File& file, Module& model) { load_parameters(file, model, inference_group(file)); }

bool is_quantized(const H5File& file) { return !file.attribute(kQuantizedAttribute).empty(); }

void check_not_quantized(const H5File& file, const std::string& what) {
  XSEQ_CHECK(!is_quantized(file), what, ": checkpoint '", file.path(), "' is quantised (",
             file.attribute(kQuantizedAttribute), ", written by xseq quantize): it holds int8 weights for decoding, "
             "no fp32 weights or optimizer state; use the checkpoint it was quantised from");
}

namespace {

// A quantised weight of `file` (int8/<path>, int8_scales/<path>) for a parameter of `shape`.
std::shared_ptr<const QuantizedMatrix> read_quantized(const H5File& file, const std::string& name,
                                                      const std::string& path, const Shape& shape) {
  XSEQ_CHECK(shape.ndim() == 2, "checkpoint '", file.path(), "': parameter '", name, "' is quantised but has shape ",
             shape, " (only 2-D weights are)");
  auto q = std::make_shared<QuantizedMatrix>();
  q->rows = shape[0];
  q->cols = shape[1];
  const std::string values = file.read_bytes("int8/" + path);
  const Tensor scales = file.read("int8_scales/" + path);
  XSEQ_CHECK(std::int64_t(values.size()) == q->rows * q->cols && scales.numel() == q->rows, "checkpoint '",
             file.path(), "': quantised parameter '", name, "' has ", values.size(), " values and ", scales.numel(),
             " scales but the model's shape ", shape, " needs ", q->rows * q->cols, " and ", q->rows);
  q->values.resize(values.size());
  std::memcpy(q->values.data(), values.data(), values.size());
  q->scales.assign(scales.data(), scales.data() + scales.numel());
  for (std::int64_t r = 0; r < q->rows; ++r)
    XSEQ_CHECK(std::isfinite(q->scales[std::size_t(r)]) && q->scales[std::size_t(r)] > 0, "checkpoint '", file.path(),
               "': quantised parameter '", name, "' has scale ", q->scales[std::size_t(r)], " for row ", r,
               " (scales are finite and > 0)");
  return q;
}

}  // namespace

void load_parameters(const H5File& file, Module& model, const std::string& group) {
  std::set<std::string> stored, quantized;
  if (file.has(group))
    for (const auto& d : file.datasets(group)) stored.insert(d);
  if (group == "params" && is_quantized(file) && file.has("int8"))
    for (const auto& d : file.datasets("int8")) quantized.insert(d);
  for (const auto& p : model.named_parameters()) {
    const std::string path = dotted_to_h5_path(p.name);
    if (quantized.erase(path)) {  // the int8 copy, and its dequantised values for everything else
      const auto q = read_quantized(file, p.name, path, p.variable.shape());
      model.set_parameter(p.name, q->dequantize());
      model.parameter(p.name).set_int8_weights(q);
      continue;
    }
    XSEQ_CHECK(stored.count(path), "checkpoint '", file.path(), "' has no parameter '", p.name,
               "' that the model needs (was it saved from another model config?)");
    Tensor value = file.read(group + "/" + path);
    XSEQ_CHECK(value.shape() == p.variable.shape(), "checkpoint '", file.path(), "': parameter '", p.name,
               "' has shape ", value.shape(), " but the model's is ", p.variable.shape());
    check_finite(value, file.path(), p.name);
    model.set_parameter(p.name, value);
    stored.erase(path);
  }
  stored.insert(quantized.begin(), quantized.end());
  if (!stored.empty()) {
    std::string name = *stored.begin();
    std::replace(name.begin(), name.end(), '/', '.');
    XSEQ_CHECK(false, "checkpoint '", file.path(), "' has a parameter '", name, "' the model does not (",
               stored.size(), " unexpected in all; was it saved from another model config?)");
  }
}

void load_rng_states(const H5File& file, Module& model) {
  std::istringstream in(file.attribute("rng"));
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> states;
  std::string name;
  std::uint64_t seed = 0, counter = 0;
  while (in >> name >> seed >> counter) states[name] = {seed, counter};
  for (auto& [rng_name, rng] : model.named_rngs()) {
    const auto it = states.find(rng_name);
    XSEQ_CHECK(it != states.end(), "checkpoint '", file.path(), "' has no state for generator '", rng_name, "'");
    rng->set_state(it->second.first, it->second.second);
  }
}

std::size_t remove_stale_temporaries(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::size_t removed = 0;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const pid_t pid = temporary_owner(it->path().filename().string());
    std::error_code other;
    if (pid <= 0 || !it->is_regular_file(other)) continue;
    const bool dead = ::kill(pid, 0) == -1 && errno == ESRCH;
    if (dead && fs::remove(it->path(), other)) ++removed;
  }
  return removed;
}

}  // namespace xseq
