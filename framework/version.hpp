// xseq's version and plugin ABI, in one place: CMakeLists.txt reads the version
// from here, `xseq version` prints it, and every plugin carries both (compiled
// into it by xseq_add_plugin, cmake/xseqPlugin.cmake) so that a plugin built
// against another xseq is refused before any of its code runs.
#pragma once

#include <cstddef>  // defines the C++ library's ABI macros tested below

#define XSEQ_VERSION_MAJOR 0
#define XSEQ_VERSION_MINOR 3
#define XSEQ_VERSION_PATCH 0
#define XSEQ_VERSION_STRING "0.3.0"

/// Bumped whenever a public type that plugins see (Module, Variable, LayerArgs,
/// the registries, ...) changes its layout or meaning.
#define XSEQ_PLUGIN_ABI_VERSION 2

#define XSEQ_STRINGIFY_(x) #x
#define XSEQ_STRINGIFY(x) XSEQ_STRINGIFY_(x)

// The C++ library's ABI: std::string and std::list differ between libstdc++'s
// two ABIs, and libc++ is incompatible with both.
#if defined(_LIBCPP_VERSION)
#define XSEQ_STDLIB_ABI "libc++"
#elif defined(_GLIBCXX_USE_CXX11_ABI)
#define XSEQ_STDLIB_ABI "libstdc++-cxx11abi" XSEQ_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#else
#define XSEQ_STDLIB_ABI "unknown-stdlib"
#endif

/// What a plugin and the xseq that loads it must share, as text: the plugin ABI
/// number and the C++ library ABI.
#define XSEQ_PLUGIN_ABI_STRING "xseq-abi" XSEQ_STRINGIFY(XSEQ_PLUGIN_ABI_VERSION) ";" XSEQ_STDLIB_ABI
