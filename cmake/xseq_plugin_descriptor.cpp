// Compiled into every plugin by xseq_add_plugin (cmake/xseqPlugin.cmake): the xseq
// version and ABI the plugin is built against, in an ELF section of its own that
// xseq reads from the file before loading it (framework/plugin.hpp). Never edit
// a copy of this file: a plugin whose descriptor lies can crash the program.
#include <framework/version.hpp>

#ifndef XSEQ_PLUGIN_VERSION_FOR_TESTS
#define XSEQ_PLUGIN_VERSION_FOR_TESTS XSEQ_VERSION_STRING
#endif

// Internal linkage (a const at namespace scope); `used` keeps it in the file.
__attribute__((section("xseq_plugin"), used)) const char xseq_plugin_descriptor[] =
    "xseq-plugin\nversion=" XSEQ_PLUGIN_VERSION_FOR_TESTS "\nabi=" XSEQ_PLUGIN_ABI_STRING "\n";
