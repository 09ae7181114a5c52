// The processes that train one model together (data parallelism under mpirun;
// docs/distributed.md). This header is the whole interface between xseq and
// MPI: libxseq_mpi.so (framework/distributed_mpi.cpp) implements it and is loaded
// with dlopen only when the environment shows mpirun, so a plain `xseq train`
// neither links nor starts MPI.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string>
#include <vector>

namespace xseq {

/// A group of ranks. Without mpirun: rank 0 of 1, and every collective returns
/// at once without touching its data.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// "single process", or the MPI library and the number of ranks.
  virtual std::string describe() const = 0;
  /// data[i] = the sum over ranks of data[i], in place, on every rank (blocking).
  virtual void sum(double* data, std::size_t count) = 0;
  /// Starts the same sum over floats without waiting (MPI_Iallreduce); the buffer
  /// must stay alive and untouched until finish_sums(), which waits for every sum started.
  virtual void start_sum(float* data, std::size_t count) = 0;
  virtual void finish_sums() = 0;
  /// Lets started sums advance while this thread computes (OpenMPI moves
  /// non-blocking collectives only inside MPI calls); called between backward's ops.
  virtual void progress() {}
  /// Every rank's text, in rank order, on every rank.
  virtual std::vector<std::string> gather_all(const std::string& text) = 0;
  /// Ends every process of the job with this exit code (a rank that cannot go on
  /// must not leave the others waiting in a collective).
  [[noreturn]] void abort(int exit_code) {
    end_job(exit_code);
    std::_Exit(exit_code);  // end_job does not return; this makes that visible
  }

 protected:
  virtual void end_job(int exit_code) = 0;
};

/// This process's communicator, created on first use: the MPI one when mpirun
/// started the process (OMPI_COMM_WORLD_SIZE is set), else the single-process one.
Communicator& process_communicator();

/// Whether this build has MPI support (libxseq_mpi.so; -DXSEQ_MPI=OFF builds without).
bool mpi_support_built();
/// The mpirun found when xseq was built ("" without MPI support).
std::string mpiexec_path();

}  // namespace xseq

/// The entry point of libxseq_mpi.so: a new MPI communicator (MPI_Init_thread),
/// or nullptr with *error set.
extern "C" xseq::Communicator* xseq_mpi_communicator(std::string* error);
