// The pieces of the _xseq extension module (python/src/*.cpp), and what they share.
#pragma once

#include <pybind11/pybind11.h>

namespace xseq {
struct SearchOptions;
}

namespace xseq::python {

namespace py = pybind11;

void bind_errors_and_process(py::module_& m);  // module.cpp: exceptions, threads, plugins, fork
void bind_inference(py::module_& m);           // inference.cpp: Translator, Checkpoint
void bind_training(py::module_& m);            // training.cpp: train, evaluate, Config, metrics, gradcheck

/// Throws xseq::Error when this process was forked after xseq started OpenMP
/// threads (libgomp's pool does not survive fork(): a call would hang).
void check_not_forked();
/// Records that xseq is about to start threads (so that a later fork is refused).
void note_threads_used();
/// Sets the search options a dict from the Python wrapper names (inference.cpp;
/// the wrapper checks the names and types).
void read_search(const py::dict& d, SearchOptions& o);

}  // namespace xseq::python
