#include "framework/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <sstream>

namespace xseq {
namespace {

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

}  // namespace

void save_checkpoint(const std::string& path, Module& model, const Optimizer* optimizer,
                     const CheckpointExtras& extras) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  try {
    H5File file(tmp, H5File::Mode::truncate);
    file.set_attribute("format_version", std::to_string(kCheckpointFormatVersion));
    for (const auto& p : model.named_parameters()) file.write("params/" + dotted_to_h5_path(p.name), p.variable.value());
    if (optimizer) optimizer->save_state(file, "optimizer");
    std::ostringstream rngs;
    for (const auto& [name, rng] : model.named_rngs()) rngs << name << ' ' << rng->seed() << ' ' << rng->counter() << '\n';
    file.set_attribute("rng", rngs.str());
    for (const auto& [key, value] : extras.attributes) file.set_attribute(key, value);
    for (const auto& [name, value] : extras.strings) file.write_string(name, value);
    file.flush();
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  fsync_path(tmp, false);
  XSEQ_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "checkpoint: cannot rename '", tmp, "' to '", path, "'");
  fsync_path(directory_of(path), true);
}

std::unique_ptr<H5File> open_checkpoint(const std::string& path) {
  XSEQ_CHECK(::access(path.c_str(), F_OK) == 0, "checkpoint '", path, "' does not exist");
  std::unique_ptr<H5File> file;
  try {
    file = std::make_unique<H5File>(path, H5File::Mode::read);
  } catch (const Error&) {
    XSEQ_CHECK(false, "checkpoint '", path, "' is not a readable HDF5 file (truncated or another format?)");
  }
  const std::string version = file->attribute("format_version");
  XSEQ_CHECK(!version.empty(), "'", path, "' is an HDF5 file but not an xseq checkpoint (no format_version)");
  XSEQ_CHECK(version == std::to_string(kCheckpointFormatVersion), "checkpoint '", path, "' has format version ",
             version, "; this xseq reads version ", kCheckpointFormatVersion);
  return file;
}

void load_parameters(const H5File& file, Module& model) {
  std::set<std::string> stored;
  for (const auto& d : file.datasets("params")) stored.insert(d);
  for (const auto& p : model.named_parameters()) {
    const std::string path = dotted_to_h5_path(p.name);
    XSEQ_CHECK(stored.count(path), "checkpoint '", file.path(), "' has no parameter '", p.name,
               "' that the model needs (was it saved from another model config?)");
    Tensor value = file.read("params/" + path);
    XSEQ_CHECK(value.shape() == p.variable.shape(), "checkpoint '", file.path(), "': parameter '", p.name,
               "' has shape ", value.shape(), " but the model's is ", p.variable.shape());
    model.set_parameter(p.name, value);
    stored.erase(path);
  }
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

}  // namespace xseq
