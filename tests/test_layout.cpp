// The layout is the architecture (docs/architecture.md): one library per folder,
// dependencies pointing one way. This test reads every source file of every
// library and fails on an #include that points up the stack, or on CLI11
// anywhere but the command line.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "helpers.hpp"

namespace {

namespace fs = std::filesystem;

// Each folder and the folders it may include from (itself included).
const std::map<std::string, std::set<std::string>>& allowed_includes() {
  static const std::map<std::string, std::set<std::string>> rules = {
      {"framework", {"framework"}},
      {"datasets", {"datasets", "framework"}},
      {"models", {"models", "framework"}},
      {"config", {"config", "models", "datasets", "framework"}},
      {"decode", {"decode", "config", "models", "datasets", "framework"}},
      {"eval", {"eval", "decode", "config", "models", "datasets", "framework"}},
      {"train", {"train", "eval", "decode", "config", "models", "datasets", "framework"}},
      {"serve", {"serve", "decode", "config", "models", "datasets", "framework"}},
      {"cli", {"cli", "serve", "train", "eval", "decode", "config", "models", "datasets", "framework"}},
  };
  return rules;
}

struct Include {
  std::string file, folder;  // the includer, and the folder its include names
  int line;
};

// Every `#include "folder/..."` or `<folder/...>` of this project's folders, and
// every CLI11 include, in one source file.
void scan(const fs::path& path, const std::string& shown, std::vector<Include>& project, std::vector<Include>& cli11) {
  static const std::regex include_re(R"(^\s*#\s*include\s*["<]([A-Za-z0-9_]+)/)");
  std::ifstream in(path);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::smatch m;
    if (!std::regex_search(line, m, include_re)) continue;
    const std::string folder = m[1];
    if (folder == "CLI") cli11.push_back({shown, folder, n});
    if (allowed_includes().count(folder)) project.push_back({shown, folder, n});
  }
}

}  // namespace

TEST_CASE("layout: every library includes only from itself and the libraries below it", "[layout]") {
  const fs::path root(XSEQ_SOURCE_DIR);
  std::ostringstream wrong;
  int files = 0;
  for (const auto& [folder, may] : allowed_includes()) {
    REQUIRE(fs::is_directory(root / folder));
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".hpp" && ext != ".cpp") continue;
      ++files;
      const std::string shown = fs::relative(entry.path(), root).string();
      std::vector<Include> project, cli11;
      scan(entry.path(), shown, project, cli11);
      for (const auto& inc : project)
        if (!may.count(inc.folder))
          wrong << shown << ":" << inc.line << " includes from " << inc.folder << "/ (" << folder
                << "/ may include only from lower layers)\n";
      if (folder != "cli")
        for (const auto& inc : cli11) wrong << shown << ":" << inc.line << " includes CLI11 (only cli/ may)\n";
    }
  }
  INFO(wrong.str());
  CHECK(wrong.str().empty());
  CHECK(files > 100);  // the scan saw the tree
}

TEST_CASE("layout: the command line is thin and train/ holds training", "[layout]") {
  const fs::path root(XSEQ_SOURCE_DIR);
  int train_cpp = 0;
  for (const auto& entry : fs::directory_iterator(root / "train")) train_cpp += entry.path().extension() == ".cpp";
  CHECK(train_cpp <= 18);
  // Beam search and BLEU are compiled into libraries other than training's.
  CHECK(fs::exists(root / "decode" / "decoding.cpp"));
  CHECK(fs::exists(root / "eval" / "metrics.cpp"));
  // Only the CLI's private header includes CLI11, and it is not among the headers
  // a user's program can reach through another library's header.
  for (const auto& entry : fs::directory_iterator(root / "cli"))
    if (entry.path().extension() == ".hpp" && entry.path().filename() != "command.hpp") {
      std::vector<Include> project, cli11;
      scan(entry.path(), entry.path().filename().string(), project, cli11);
      CHECK(cli11.empty());
    }
}

TEST_CASE("layout: the layout test itself catches an include pointing up", "[layout]") {
  // A file of decode/ that includes from train/ (written to a temporary tree).
  const fs::path tmp = fs::temp_directory_path() / "xseq_layout_probe";
  fs::create_directories(tmp / "decode");
  {
    std::ofstream f(tmp / "decode" / "bad.hpp");
    f << "#pragma once\n#include \"train/trainer.hpp\"\n#include <CLI/CLI.hpp>\n";
  }
  std::vector<Include> project, cli11;
  scan(tmp / "decode" / "bad.hpp", "decode/bad.hpp", project, cli11);
  fs::remove_all(tmp);
  REQUIRE(project.size() == 1);
  CHECK(project[0].folder == "train");
  CHECK_FALSE(allowed_includes().at("decode").count(project[0].folder));
  CHECK(cli11.size() == 1);
}
