// process_communicator(): the single-process communicator, or libxseq_mpi.so
// loaded with dlopen when mpirun started this process.
#include "framework/distributed.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "framework/error.hpp"

namespace xseq {
namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string describe() const override { return "single process"; }
  void sum(double*, std::size_t) override {}
  void start_sum(float*, std::size_t) override {}
  void finish_sums() override {}
  std::vector<std::string> gather_all(const std::string& text) override { return {text}; }

 protected:
  void end_job(int exit_code) override { std::exit(exit_code); }
};

bool started_by_mpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr; }

std::string executable_dir() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

// Where libxseq_mpi.so may be: $XSEQ_MPI_LIBRARY, where the build put it, where
// `cmake --install` put it, beside the executable, then the loader's own search.
std::vector<std::string> library_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("XSEQ_MPI_LIBRARY")) out.push_back(env);
#ifdef XSEQ_MPI_LIBRARY
  out.push_back(XSEQ_MPI_LIBRARY);
  out.push_back(XSEQ_MPI_INSTALLED);
#endif
  const std::string dir = executable_dir();
  if (!dir.empty()) out.push_back(dir + "/libxseq_mpi.so");
  out.push_back("libxseq_mpi.so");
  return out;
}

std::unique_ptr<Communicator> load_mpi() {
  XSEQ_CHECK(mpi_support_built(), "this process was started by mpirun (OMPI_COMM_WORLD_SIZE is set), but this xseq ",
             "was built without MPI support (-DXSEQ_MPI=OFF, or no MPI found): install libopenmpi-dev and rebuild");
  std::string tried;
  for (const std::string& path : library_candidates()) {
    if (path.find('/') != std::string::npos && !std::filesystem::exists(path)) continue;
    // RTLD_GLOBAL: OpenMPI's own components (dlopen'ed by libmpi) need libmpi's symbols.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle) {
      tried += "\n  " + path + ": " + dlerror();
      continue;
    }
    using Create = Communicator* (*)(std::string*);
    auto create = reinterpret_cast<Create>(dlsym(handle, "xseq_mpi_communicator"));
    XSEQ_CHECK(create != nullptr, path, " has no xseq_mpi_communicator (a libxseq_mpi.so of another xseq version?)");
    std::string error;
    Communicator* comm = create(&error);
    XSEQ_CHECK(comm != nullptr, "starting MPI failed: ", error);
    return std::unique_ptr<Communicator>(comm);  // the library stays loaded until exit
  }
  XSEQ_CHECK(false, "started by mpirun, but libxseq_mpi.so could not be loaded (set XSEQ_MPI_LIBRARY to its path):",
             tried.empty() ? std::string("\n  not found") : tried);
  return nullptr;
}

}  // namespace

Communicator& process_communicator() {
  static const std::unique_ptr<Communicator> comm =
      started_by_mpirun() ? load_mpi() : std::unique_ptr<Communicator>(new SingleProcess());
  return *comm;
}

bool mpi_support_built() {
#ifdef XSEQ_MPI_LIBRARY
  return true;
#else
  return false;
#endif
}

std::string mpiexec_path() {
#ifdef XSEQ_MPIEXEC
  return XSEQ_MPIEXEC;
#else
  return "";
#endif
}

}  // namespace xseq
