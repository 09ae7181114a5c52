// _xseq: the compiled part of the Python package (python/xseq/__init__.py wraps it).
// This file: the exception hierarchy, thread counts, plugins and fork safety.
#include <pthread.h>

#include <atomic>
#include <string>

#include "framework/error.hpp"
#include "framework/parallel.hpp"
#include "framework/plugin.hpp"
#include "framework/version.hpp"
#include "module.h"

namespace xseq::python {
namespace {

std::atomic<bool> g_threads_used{false};
std::atomic<bool> g_forked_after_use{false};

void on_fork_child() {
  if (g_threads_used.load()) g_forked_after_use = true;
}

// The Python classes of the C++ exceptions, made once (module.cpp owns them).
struct Exceptions {
  PyObject* error = nullptr;
  PyObject* checkpoint = nullptr;
  PyObject* checkpoint_missing = nullptr;
  PyObject* config = nullptr;
  PyObject* option = nullptr;
  PyObject* input = nullptr;
};
Exceptions g_exceptions;

PyObject* new_exception(py::module_& m, const char* name, const char* doc, py::tuple bases) {
  const std::string qualified = std::string("xseq._xseq.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));  // the module keeps a reference
  return type;
}

void make_exceptions(py::module_& m) {
  Exceptions& e = g_exceptions;
  e.error = new_exception(m, "Error", "Base of every error xseq raises for bad input (xseq::Error).",
                          py::make_tuple(py::handle(PyExc_Exception)));
  const py::handle error(e.error);
  e.checkpoint = new_exception(m, "CheckpointError",
                               "A checkpoint that is unreadable, damaged, of another format or needs a missing plugin.",
                               py::make_tuple(error));
  e.checkpoint_missing =
      new_exception(m, "CheckpointNotFoundError", "A checkpoint file that does not exist (also a FileNotFoundError).",
                    py::make_tuple(py::handle(e.checkpoint), py::handle(PyExc_FileNotFoundError)));
  e.config = new_exception(m, "ConfigError", "A config file, key or value that is wrong (names the line and key).",
                           py::make_tuple(error));
  e.option = new_exception(m, "OptionError", "An option out of range, or two that conflict (also a ValueError).",
                           py::make_tuple(error, py::handle(PyExc_ValueError)));
  e.input = new_exception(m, "InputError", "Input text the model cannot take (also a ValueError).",
                          py::make_tuple(error, py::handle(PyExc_ValueError)));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const CheckpointError& x) {
      PyErr_SetString(x.missing() ? g_exceptions.checkpoint_missing : g_exceptions.checkpoint, x.what());
    } catch (const ConfigError& x) {
      PyErr_SetString(g_exceptions.config, x.what());
    } catch (const OptionError& x) {
      PyErr_SetString(g_exceptions.option, x.what());
    } catch (const InputError& x) {
      PyErr_SetString(g_exceptions.input, x.what());
    } catch (const Error& x) {
      PyErr_SetString(g_exceptions.error, x.what());
    }
  });
}

}  // namespace

void check_not_forked() {
  if (g_forked_after_use.load())
    throw Error(
        "xseq cannot run in a process forked after xseq started its threads (OpenMP's thread pool does not survive "
        "fork()); use multiprocessing.get_context('spawn') or 'forkserver', or fork before the first xseq call");
}

void note_threads_used() { g_threads_used = true; }

void bind_errors_and_process(py::module_& m) {
  make_exceptions(m);
  pthread_atfork(nullptr, nullptr, on_fork_child);
  m.attr("__version__") = XSEQ_VERSION_STRING;
  m.def(
      "set_num_threads",
      [](int n) {
        if (n < 0 || n > 1024) throw OptionError("set_num_threads: n must be in [0, 1024] (0 = all cores), got " + std::to_string(n));
        set_num_threads(n);
      },
      py::arg("n"));
  m.def("num_threads", [] { return num_threads(); });
  m.def(
      "load_plugin",
      [](const std::string& path) {
        check_not_forked();
        return load_plugin(path).path;
      },
      py::arg("path"));
  m.def("loaded_plugins", [] {
    py::list out;
    for (const auto& p : loaded_plugins()) out.append(p.path);
    return out;
  });
}

}  // namespace xseq::python

PYBIND11_MODULE(_xseq, m) {
  m.doc() = "The compiled part of xseq (use the xseq package, not this module).";
  xseq::python::bind_errors_and_process(m);
  xseq::python::bind_inference(m);
  xseq::python::bind_training(m);
}
