// Plugins that must be refused (tests/test_plugins.cpp), one source compiled
// into several libraries selected by a definition:
//   XSEQ_TEST_UNRESOLVED  needs a symbol nothing defines (dlopen's own error)
//   XSEQ_TEST_CLASH       registers test_glu, which test_plugin.cpp registered
//   (neither)             a harmless layer: built with an old version in its
//                         descriptor, and as a plain MODULE with no descriptor
#include <framework/xseq.hpp>

#if defined(XSEQ_TEST_UNRESOLVED)
extern "C" int xseq_test_symbol_nothing_defines();
static const int needs_missing_symbol = xseq_test_symbol_nothing_defines();
#endif

namespace {
xseq::LayerFactory identity_factory() {
  return [](const xseq::LayerArgs& a, xseq::Rng&) -> std::shared_ptr<xseq::SequenceLayer> {
    struct Identity : xseq::SequenceLayer {
      xseq::Variable forward(const xseq::Variable& x, const xseq::Lengths&) override { return x; }
    };
    (void)a;
    return std::make_shared<Identity>();
  };
}
}  // namespace

#if defined(XSEQ_TEST_CLASH)
XSEQ_REGISTER_LAYER(test_clash_first, identity_factory());
XSEQ_REGISTER_LAYER(test_glu, identity_factory());
#else
XSEQ_REGISTER_LAYER(test_small_identity, identity_factory());
#endif
