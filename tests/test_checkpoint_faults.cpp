// Checkpoints under faults: a write that fails at any byte, flipped bytes anywhere in
// the file, non-finite weights, temporaries left by killed processes.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <set>

#include "helpers.hpp"

using namespace xseq;
namespace fs = std::filesystem;

namespace {

class Net : public Module {
 public:
  Net(std::int64_t hidden, Rng& rng) {
    a_ = register_module("a", std::make_shared<Dense>(3, hidden, rng));
    b_ = register_module("b", std::make_shared<Dense>(hidden, 2, rng));
    drop_ = register_module("drop", std::make_shared<Dropout>(0.5f, rng));
  }
  std::shared_ptr<Dense> a_, b_;
  std::shared_ptr<Dropout> drop_;
};

// A model with optimizer state, strings and attributes: every kind of object a
// checkpoint holds.
struct Trained {
  explicit Trained(std::uint64_t seed) : rng(seed), net(8, rng), adam(net.named_parameters(), Adam::Options{}) {
    for (auto& p : net.parameters()) p.accumulate_grad(test::uniform(p.shape(), rng));
    adam.step(0.1f);
    adam.zero_grad();
    extras.attributes["step"] = std::to_string(seed);
    extras.attributes["config"] = "[model]\ntype = \"transformer\"\n";
    extras.strings["vocab/src"] = "#xseq-vocab 1\n<pad>\n<unk>\n<s>\n</s>\na\nb\n";
    extras.strings["vocab/tgt"] = "#xseq-vocab 1\n<pad>\n<unk>\n<s>\n</s>\n1\n2\n";
  }
  void save(const std::string& path) { save_checkpoint(path, net, &adam, extras); }
  Rng rng;
  Net net;
  Adam adam;
  CheckpointExtras extras;
};

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string tensor_bytes(const Tensor& t) {
  return std::string(reinterpret_cast<const char*>(t.data()), static_cast<std::size_t>(t.numel()) * sizeof(float));
}

// Writes past `bytes` fail with EFBIG (SIGXFSZ ignored) until destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    previous_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &limit) == 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_);
  }

 private:
  rlimit saved_{};
  void (*previous_)(int) = nullptr;
};

bool has_temporary(const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

// Everything a checkpoint gives back through the loaders and the raw reader, as one
// string; opens with open_checkpoint, so format and checksum checks run first.
std::string load_everything(const std::string& path, const std::set<std::string>& strings, Trained& into) {
  auto file = open_checkpoint(path);
  load_parameters(*file, into.net);
  into.adam.load_state(*file, "optimizer");
  load_rng_states(*file, into.net);
  std::string all;
  for (const auto& p : into.net.named_parameters()) all += p.name + tensor_bytes(p.variable.value());
  for (const auto& name : file->datasets())
    all += name + (strings.count(name) ? file->read_string(name) : tensor_bytes(file->read(name)));
  for (const auto& key : file->attributes()) all += key + "=" + file->attribute(key);
  return all;
}

enum Outcome : unsigned char { same = 0, refused = 1, changed = 2, other_exception = 3 };

// outcome(at) for every at in [0, n), computed in child processes that report through a
// pipe: a crash inside HDF5 then names its byte (128 + signal) instead of ending the test
// run, and HDF5's own leaks on corrupt metadata stay in the children.
std::vector<int> outcomes_in_children(std::size_t n, const std::function<Outcome(std::size_t)>& outcome) {
  std::vector<int> results;
  while (results.size() < n) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(fds[0]);
      for (std::size_t at = results.size(); at < n; ++at) {
        const Outcome o = outcome(at);
        if (::write(fds[1], &o, 1) != 1) _exit(1);
      }
      _exit(0);
    }
    ::close(fds[1]);
    unsigned char o = 0;
    while (::read(fds[0], &o, 1) == 1) results.push_back(o);
    ::close(fds[0]);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    if (results.size() < n) results.push_back(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255);
  }
  return results;
}

}  // namespace

TEST_CASE("checkpoint: a disk that fills up at any byte of a save leaves the old checkpoint", "[checkpoint][robust]") {
  const std::string dir = "test_faults_full", path = dir + "/last.h5";
  fs::remove_all(dir);
  fs::create_directories(dir);
  Trained old_model(1), new_model(2);
  old_model.save(path);
  const std::string good = file_bytes(path);
  new_model.save(dir + "/size_probe.h5");
  const auto full_size = static_cast<rlim_t>(fs::file_size(dir + "/size_probe.h5"));
  fs::remove(dir + "/size_probe.h5");
  const auto open_before = hdf5_open_objects();

  std::vector<rlim_t> limits{0, 1, 8, full_size - 1};
  for (rlim_t limit = 256; limit < full_size; limit += 256) limits.push_back(limit);
  for (const rlim_t limit : limits) {
    INFO("writes fail beyond byte " << limit << " of " << full_size);
    {
      FileSizeLimit fsize(limit);
      CHECK_THROWS_WITH(new_model.save(path), Catch::StartsWith("cannot save checkpoint 'test_faults_full/last.h5'") &&
                                                  Catch::Contains(std::strerror(EFBIG)));
    }
    CHECK(file_bytes(path) == good);
    CHECK_FALSE(has_temporary(dir));
    CHECK(hdf5_open_objects() == open_before);
  }
  Trained reloaded(3);
  load_parameters(*open_checkpoint(path), reloaded.net);
  CHECK(max_abs_diff(reloaded.net.parameter("a.weight").value(), old_model.net.parameter("a.weight").value()) == 0.0f);
  new_model.save(path);  // with room again, the save goes through
  load_parameters(*open_checkpoint(path), reloaded.net);
  CHECK(max_abs_diff(reloaded.net.parameter("a.weight").value(), new_model.net.parameter("a.weight").value()) == 0.0f);
  fs::remove_all(dir);
}

TEST_CASE("checkpoint: a flipped byte in parameter data is an error naming the dataset", "[checkpoint][robust]") {
  const std::string path = "test_faults_flip_data.h5";
  Trained model(4);
  model.save(path);
  const std::string good = file_bytes(path);
  for (const auto& p : model.net.named_parameters()) {
    const std::string data = tensor_bytes(p.variable.value());
    const auto at = good.find(data);
    REQUIRE(at != std::string::npos);  // Fletcher-32 without compression keeps the floats as they are
    for (const std::size_t offset : {std::size_t{0}, data.size() / 2, data.size() - 1}) {
      std::string bad = good;
      bad[at + offset] ^= 0x01;
      write_bytes(path, bad);
      Trained into(5);
      CHECK_THROWS_WITH(load_parameters(*open_checkpoint(path), into.net),
                        "HDF5 file '" + path + "': dataset 'params/" + dotted_to_h5_path(p.name) +
                            "' is corrupt (checksum mismatch)");
    }
  }
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: a flipped byte anywhere is an error or changes nothing", "[checkpoint][robust]") {
  const std::string path = "test_faults_flip_any.h5";
  Trained model(6), into(7);
  model.save(path);
  const std::string good = file_bytes(path);
  const std::set<std::string> strings{"vocab/src", "vocab/tgt"};
  const std::string expected = load_everything(path, strings, into);
  const auto results = outcomes_in_children(good.size(), [&](std::size_t at) {
    std::string bad = good;
    bad[at] ^= 0x10;
    write_bytes(path, bad);
    try {
      return load_everything(path, strings, into) == expected ? same : changed;
    } catch (const Error&) {
      return refused;
    } catch (...) {
      return other_exception;
    }
  });
  std::size_t refusals = 0;
  for (std::size_t at = 0; at < results.size(); ++at) {
    INFO("byte " << at << " of " << good.size() << " flipped: outcome " << results[at]
                 << " (2 = loaded changed, 3 = not an xseq::Error, 128+ = killed by that signal)");
    if (results[at] != same) REQUIRE(results[at] == int{refused});
    refusals += results[at] == refused;
  }
  // Every byte that is read (superblock, object headers, data, strings, the checksum
  // list) is covered; what loads unchanged is space the allocator left unused.
  CHECK(refusals > good.size() * 3 / 4);
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: a rename that fails removes the temporary and names the cause", "[checkpoint][robust]") {
  const std::string dir = "test_faults_rename";
  fs::remove_all(dir);
  fs::create_directories(dir + "/last.h5/occupied");  // a non-empty directory where the file should go
  Trained model(9);
  CHECK_THROWS_WITH(model.save(dir + "/last.h5"), Catch::StartsWith("cannot save checkpoint 'test_faults_rename/last.h5': "
                                                                    "renaming 'test_faults_rename/last.h5.tmp-") &&
                                                      Catch::Contains(std::strerror(EISDIR)));
  CHECK_FALSE(has_temporary(dir));
  fs::remove_all(dir);
}

TEST_CASE("checkpoint: non-finite parameters are refused at load", "[checkpoint][robust]") {
  const std::string path = "test_faults_nan.h5";
  Trained model(7);
  Tensor w = model.net.parameter("b.weight").value().clone();
  w.data()[3] = std::numeric_limits<float>::quiet_NaN();
  model.net.b_->set_parameter("weight", w);
  model.save(path);
  Trained into(8);
  CHECK_THROWS_WITH(load_parameters(*open_checkpoint(path), into.net),
                    "checkpoint 'test_faults_nan.h5': parameter 'b.weight' holds nan at flat index 3 of (2, 8); "
                    "refusing to load non-finite weights");
  Tensor b = model.net.parameter("a.bias").value().clone();
  b.data()[0] = -std::numeric_limits<float>::infinity();
  model.net.a_->set_parameter("bias", b);
  model.save(path);
  CHECK_THROWS_WITH(load_parameters(*open_checkpoint(path), into.net), Catch::Contains("parameter 'a.bias' holds -inf"));
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: temporaries of dead processes are removed, live ones kept", "[checkpoint][robust]") {
  const std::string dir = "test_faults_stale";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(0);
  REQUIRE(waitpid(child, nullptr, 0) == child);  // reaped: no process has this pid now
  const std::string dead = std::to_string(child), mine = std::to_string(getpid());
  for (const std::string& name : std::vector<std::string>{"last.h5.tmp-" + dead, "best.h5.tmp-" + mine,
                                                         "notes.txt.tmp-" + dead, "last.h5", "last.h5.tmp-12x"})
    std::ofstream(dir + "/" + name) << "x";
  CHECK(remove_stale_temporaries(dir) == 1);
  CHECK_FALSE(fs::exists(dir + "/last.h5.tmp-" + dead));
  for (const std::string& name :
       std::vector<std::string>{"best.h5.tmp-" + mine, "notes.txt.tmp-" + dead, "last.h5", "last.h5.tmp-12x"})
    CHECK(fs::exists(dir + "/" + name));
  CHECK(remove_stale_temporaries(dir) == 0);
  CHECK(remove_stale_temporaries(dir + "/missing") == 0);
  fs::remove_all(dir);
}
