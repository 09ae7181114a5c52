// A tiny trained model for tests of what runs on a checkpoint (the CLI, the
// Translator, the server): kTinyCopyConfig trained once per process and name
// (ctest runs each test case in a process of its own), removed at exit.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "tiny_config.hpp"
#include "train/trainer.hpp"

namespace xseq::test {

/// "<name>-<pid>": tiny.toml (the resolved config) and run/ with last.h5 and
/// best.h5 after `steps` updates.
inline const std::string& tiny_run(const std::string& name, int steps) {
  struct Runs {
    std::map<std::string, std::string> dirs;
    ~Runs() {
      for (const auto& entry : dirs) std::filesystem::remove_all(entry.second);
    }
  };
  static Runs runs;
  if (const auto it = runs.dirs.find(name); it != runs.dirs.end()) return it->second;
  const std::string d = name + "-" + std::to_string(::getpid());
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  const Config c = parse_config(kTinyCopyConfig, "tiny.toml",
                                {"train.max_steps=" + std::to_string(steps), "train.out_dir=\"" + d + "/run\""});
  std::ofstream(d + "/tiny.toml") << c.to_toml();
  REQUIRE(train_model(c, TrainOptions{false, true, nullptr}).exit_code == 0);
  return runs.dirs.emplace(name, d).first->second;
}

}  // namespace xseq::test
