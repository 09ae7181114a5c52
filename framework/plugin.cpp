#include "framework/plugin.hpp"

#include <dlfcn.h>
#include <elf.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "framework/error.hpp"
#include "framework/version.hpp"

namespace xseq {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDescriptorSection = "xseq_plugin";
constexpr const char* kHelperHint =
    "build it with xseq_add_plugin(NAME SOURCES ...) from find_package(xseq), which compiles the descriptor in";

struct StagedRegistration {
  RegisteredName name;
  std::function<std::string()> problem;
  std::function<void()> commit;
};

struct PluginState {
  std::recursive_mutex mutex;  // one load at a time; the plugin's registrations re-enter
  std::deque<PluginInfo> plugins;  // a deque: references stay valid as plugins load
  std::set<std::pair<std::string, std::string>> registered;  // (kind, name)
};

PluginState& state() {
  static PluginState s;
  return s;
}

thread_local std::vector<StagedRegistration>* staging = nullptr;

// ---- the descriptor, read from the ELF file without loading it ----------------

template <class T>
bool read_at(std::ifstream& in, std::uint64_t offset, T& out) {
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(&out), sizeof(T));
  return in.good();
}

bool is_elf64(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char ident[EI_NIDENT] = {};
  in.read(reinterpret_cast<char*>(ident), EI_NIDENT);
  return in.good() && std::memcmp(ident, ELFMAG, SELFMAG) == 0 && ident[EI_CLASS] == ELFCLASS64;
}

// The bytes of section `wanted`, or "" when the file has no such section (or is
// not a well-formed 64-bit ELF file). Every offset is checked against the file.
std::string read_elf_section(const std::string& path, const std::string& wanted) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr eh;
  if (!read_at(in, 0, eh) || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum) return "";
  in.seekg(0, std::ios::end);
  const std::uint64_t file_size = static_cast<std::uint64_t>(in.tellg());
  auto header = [&](std::uint64_t i, Elf64_Shdr& sh) {
    return read_at(in, eh.e_shoff + i * sizeof(Elf64_Shdr), sh) && sh.sh_offset <= file_size &&
           sh.sh_size <= file_size - sh.sh_offset;
  };
  Elf64_Shdr names;
  if (!header(eh.e_shstrndx, names)) return "";
  for (std::uint64_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    if (!header(i, sh) || sh.sh_name >= names.sh_size) continue;
    char name[64] = {};
    in.seekg(static_cast<std::streamoff>(names.sh_offset + sh.sh_name));
    in.read(name, static_cast<std::streamsize>(std::min<std::uint64_t>(sizeof(name) - 1, names.sh_size - sh.sh_name)));
    in.clear();
    if (wanted != name || sh.sh_type == SHT_NOBITS || sh.sh_size > 4096) continue;
    std::string bytes(sh.sh_size, '\0');
    in.seekg(static_cast<std::streamoff>(sh.sh_offset));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!in.good()) return "";
    return bytes.substr(0, bytes.find('\0'));
  }
  return "";
}

// "key=value" lines of a descriptor.
std::string descriptor_field(const std::string& descriptor, const std::string& key) {
  std::istringstream lines(descriptor);
  for (std::string line; std::getline(lines, line);)
    if (line.compare(0, key.size() + 1, key + "=") == 0) return line.substr(key.size() + 1);
  return "";
}

// Refuses a file that is not an xseq plugin of this version and ABI; returns its version.
std::string check_descriptor(const std::string& path) {
  const std::string descriptor = read_plugin_descriptor(path);
  XSEQ_CHECK(!descriptor.empty(), "plugin '", path, "' is not an xseq plugin: it carries no xseq descriptor (",
             kHelperHint, ")");
  const std::string version = descriptor_field(descriptor, "version"), abi = descriptor_field(descriptor, "abi");
  XSEQ_CHECK(version == XSEQ_VERSION_STRING && abi == XSEQ_PLUGIN_ABI_STRING, "plugin '", path,
             "' was built against xseq ", version, " (ABI ", abi, ") but this is xseq ", XSEQ_VERSION_STRING, " (ABI ",
             XSEQ_PLUGIN_ABI_STRING, "): rebuild the plugin against this xseq");
  return version;
}

// ---- staged registrations -------------------------------------------------------

std::string provider_of(const RegisteredName& name) {
  const PluginInfo* p = plugin_providing(name);
  return p ? "plugin '" + p->path + "'" : "xseq or the program itself";
}

void commit_staged(const std::string& path, const std::vector<StagedRegistration>& staged) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : staged) {
    XSEQ_CHECK(seen.insert({r.name.kind, r.name.name}).second, "plugin '", path, "' registers ", r.name.kind, " '",
               r.name.name, "' twice");
    const std::string problem = r.problem();
    XSEQ_CHECK(problem.empty(), "plugin '", path, "' registers ", r.name.kind, " '", r.name.name, "', which ", problem,
               is_registered(r.name) ? " (by " + provider_of(r.name) + ")" : "", "; the plugin is not used");
  }
  for (const auto& r : staged) r.commit();
}

std::string plugin_search_path() {
  const char* env = std::getenv("XSEQ_PLUGIN_PATH");
  return env ? env : "";
}

}  // namespace

std::string read_plugin_descriptor(const std::string& path) {
  std::ifstream probe(path, std::ios::binary);
  XSEQ_CHECK(probe.good(), "cannot read plugin '", path, "'");
  return read_elf_section(path, kDescriptorSection);
}

std::string find_plugin_file(const std::string& name_or_path) {
  std::error_code ec;
  if (name_or_path.find('/') != std::string::npos) return fs::is_regular_file(name_or_path, ec) ? name_or_path : "";
  std::istringstream dirs(plugin_search_path());
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / name_or_path;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return "";  // never the current directory implicitly: write ./libglu.so for that
}

const PluginInfo& load_plugin(const std::string& name_or_path) {
  PluginState& s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  XSEQ_CHECK(!name_or_path.empty(), "an empty plugin name");
#ifdef XSEQ_STATIC_BUILD
  XSEQ_CHECK(false, "cannot load plugin '", name_or_path,
             "': this xseq was built with -DXSEQ_SHARED=OFF (static libraries); plugins need the shared build");
#endif
  const std::string found = find_plugin_file(name_or_path);
  XSEQ_CHECK(!found.empty(), "plugin '", name_or_path, "' not found",
             name_or_path.find('/') != std::string::npos
                 ? std::string()
                 : " (looked in XSEQ_PLUGIN_PATH=\"" + plugin_search_path() +
                       "\"; a file in the current directory is ./" + name_or_path + ")");
  std::error_code ec;
  const std::string path = fs::weakly_canonical(fs::absolute(found), ec).string();
  for (const auto& p : s.plugins)
    if (p.path == path) return p;

  if (!is_elf64(path)) {  // dlopen refuses it without running anything: let it say why
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    XSEQ_CHECK(handle == nullptr, "plugin '", path, "' is not a 64-bit ELF file but loaded");
    const char* why = dlerror();
    XSEQ_CHECK(false, "cannot load plugin '", path, "': ", why ? why : "not a 64-bit ELF shared library");
  }
  PluginInfo info;
  info.path = path;
  info.file_name = fs::path(path).filename().string();
  info.version = check_descriptor(path);

  std::vector<StagedRegistration> staged;
  staging = &staged;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  staging = nullptr;
  if (handle == nullptr) {
    const char* why = dlerror();
    XSEQ_CHECK(false, "cannot load plugin '", path, "': ", why ? why : "unknown reason");
  }
  commit_staged(path, staged);
  for (const auto& r : staged) info.registered.push_back(r.name);
  s.plugins.push_back(std::move(info));
  return s.plugins.back();
}

std::vector<PluginInfo> loaded_plugins() {
  std::lock_guard<std::recursive_mutex> lock(state().mutex);
  return {state().plugins.begin(), state().plugins.end()};
}

const PluginInfo* plugin_providing(const RegisteredName& name) {
  std::lock_guard<std::recursive_mutex> lock(state().mutex);
  for (const auto& p : state().plugins)
    if (std::find(p.registered.begin(), p.registered.end(), name) != p.registered.end()) return &p;
  return nullptr;
}

bool is_registered(const RegisteredName& name) {
  std::lock_guard<std::recursive_mutex> lock(state().mutex);
  return state().registered.count({name.kind, name.name}) > 0;
}

std::string plugin_manifest(const std::vector<RegisteredName>& names) {
  std::ostringstream out;
  for (const auto& p : loaded_plugins()) {
    std::string provided;
    for (const auto& n : p.registered)
      if (std::find(names.begin(), names.end(), n) != names.end()) provided += "\t" + n.kind + "=" + n.name;
    if (!provided.empty()) out << p.path << "\t" << p.file_name << provided << "\n";
  }
  return out.str();
}

void load_manifest_plugins(const std::string& manifest, const std::string& origin) {
  std::istringstream lines(manifest);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::istringstream cols(line);
    for (std::string f; std::getline(cols, f, '\t');) fields.push_back(f);
    XSEQ_CHECK(fields.size() >= 3, origin, ": a damaged plugin record: '", line, "'");
    bool needed = false;
    std::string provides;
    for (std::size_t i = 2; i < fields.size(); ++i) {
      const auto eq = fields[i].find('=');
      XSEQ_CHECK(eq != std::string::npos, origin, ": a damaged plugin record: '", line, "'");
      const RegisteredName n{fields[i].substr(0, eq), fields[i].substr(eq + 1)};
      needed = needed || !is_registered(n);
      provides += (provides.empty() ? "" : ", ") + n.kind + " '" + n.name + "'";
    }
    if (!needed) continue;
    const std::string& recorded = fields[0];
    const std::string& file_name = fields[1];
    std::error_code ec;
    const std::string from = fs::is_regular_file(recorded, ec) ? recorded : find_plugin_file(file_name);
    XSEQ_CHECK(!from.empty(), origin, " needs plugin '", file_name, "' for its ", provides, ", recorded at '", recorded,
               "': not found there nor in XSEQ_PLUGIN_PATH=\"", plugin_search_path(),
               "\"; pass --plugin PATH or set XSEQ_PLUGIN_PATH");
    load_plugin(from);
  }
}

namespace detail {

void note_registered(const std::string& kind, const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(state().mutex);
  state().registered.insert({kind, name});
}

bool plugin_loading() { return staging != nullptr; }

void stage_registration(const std::string& kind, const std::string& name, std::function<std::string()> problem,
                        std::function<void()> commit) {
  staging->push_back({{kind, name}, std::move(problem), std::move(commit)});
}

}  // namespace detail
}  // namespace xseq
