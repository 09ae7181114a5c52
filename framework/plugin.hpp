// Plugins: shared libraries that register layers, decoder attention scores and
// model types into xseq's one set of registries (docs/custom_layers.md).
//
// A plugin is built with xseq_add_plugin (cmake/xseqPlugin.cmake), which
// compiles a descriptor into an ELF section of its own: the xseq version and ABI
// it was built against. load_plugin reads that section from the file *before*
// dlopen, so a plugin from another xseq is refused without running any of its
// code. The registrations its static initialisers make while it loads are staged
// and committed only when the whole plugin loaded cleanly (a name that is taken
// refuses the plugin, naming the name). A plugin is never unloaded.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace xseq {

/// One thing a plugin registered: kind ("layer type", "model type",
/// "decoder attention") and name.
struct RegisteredName {
  std::string kind, name;
  bool operator==(const RegisteredName& o) const { return kind == o.kind && name == o.name; }
};

struct PluginInfo {
  std::string path;       ///< absolute path it was loaded from
  std::string file_name;  ///< e.g. "libglu.so": how XSEQ_PLUGIN_PATH finds it elsewhere
  std::string version;    ///< the xseq version it was built against
  std::vector<RegisteredName> registered;
};

/// Loads a plugin (idempotent for the same file). `name_or_path` with a '/' is a
/// path; a bare file name is searched in XSEQ_PLUGIN_PATH (colon-separated
/// directories) only, never implicitly in the current directory (that is
/// ./libglu.so). Errors name the file and say why:
/// not found (with where it looked), not a plugin of xseq (built without
/// xseq_add_plugin), another xseq version or ABI (both versions), the loader's
/// own reason (dlerror), or a registration that clashes.
const PluginInfo& load_plugin(const std::string& name_or_path);
/// Plugins loaded so far, in load order.
std::vector<PluginInfo> loaded_plugins();
/// The plugin that registered `name` of `kind`, or nullptr for xseq's own and
/// ones registered by the program itself.
const PluginInfo* plugin_providing(const RegisteredName& name);
/// Where a bare plugin name would be found ("" if nowhere); paths are returned as given.
std::string find_plugin_file(const std::string& name_or_path);

/// What a checkpoint records: the plugins that provide `names` (one line per
/// plugin: path, file name and the names it provides). Empty when none does.
std::string plugin_manifest(const std::vector<RegisteredName>& names);
/// Loads what a manifest names, unless its names are registered already: from the
/// recorded path, else by file name through XSEQ_PLUGIN_PATH. A plugin found
/// nowhere is an error naming it, what it provides, and `origin` (the checkpoint).
void load_manifest_plugins(const std::string& manifest, const std::string& origin);

/// The xseq descriptor compiled into a plugin file ("" when it has none); an error
/// only for a file that cannot be read. Exposed for tests and `xseq plugin-info`.
std::string read_plugin_descriptor(const std::string& path);

/// Whether `name` of its kind is registered (built in, by the program, or by a plugin).
bool is_registered(const RegisteredName& name);

namespace detail {
/// NamedRegistry's hooks. note_registered: a name now exists. plugin_loading:
/// whether this thread is inside load_plugin (the plugin's static initialisers
/// run). stage_registration: keeps a registration made while a plugin loads
/// until the whole plugin loaded; `problem` ("" = fine) is asked then, `commit` adds it.
void note_registered(const std::string& kind, const std::string& name);
bool plugin_loading();
void stage_registration(const std::string& kind, const std::string& name, std::function<std::string()> problem,
                        std::function<void()> commit);
}  // namespace detail

}  // namespace xseq
