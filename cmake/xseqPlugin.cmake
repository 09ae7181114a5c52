# xseq_add_plugin(NAME SOURCES...): a shared library that every xseq command can
# load (--plugin ./libNAME.so, `plugins = [...]` in a config, XSEQ_PLUGIN_PATH).
# It is an ordinary MODULE library linked to xseq (one registry shared with the
# program that loads it) plus the descriptor that lets xseq check, before
# loading, that the plugin was built against this xseq version and ABI.
#   find_package(xseq 0.3 REQUIRED)
#   xseq_add_plugin(glu glu.cpp)          # -> libglu.so
#   xseq_add_plugin(glu SOURCES glu.cpp)  # the same, with the keyword
# A plain add_library(NAME MODULE ...) has no descriptor and is refused at load
# with a message pointing here.
function(xseq_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 XSEQ_PLUGIN "" "" "SOURCES")
  set(sources ${XSEQ_PLUGIN_SOURCES} ${XSEQ_PLUGIN_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR "xseq_add_plugin(${name}): give the plugin's source files, e.g. "
                        "xseq_add_plugin(${name} SOURCES ${name}.cpp)")
  endif()
  # Beside this file, wherever it was included from (a variable set at include
  # time would stay in xseq's directory scope under add_subdirectory).
  set(descriptor "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/xseq_plugin_descriptor.cpp")
  if(NOT EXISTS "${descriptor}")
    message(FATAL_ERROR "xseq_add_plugin: ${descriptor} is missing (a broken xseq installation)")
  endif()
  add_library(${name} MODULE ${sources} ${descriptor})
  if(TARGET xseq::xseq_train)
    target_link_libraries(${name} PRIVATE xseq::xseq_train)
  else()
    target_link_libraries(${name} PRIVATE xseq_train)
  endif()
  # Default visibility on purpose: an inline function's static (in xseq's
  # headers) must bind to the one copy in libxseq.so, not a private copy.
endfunction()
