// libxseq_mpi.so: the Communicator on OpenMPI. Loaded by process_communicator()
// (framework/distributed.cpp) only under mpirun; depends on nothing of xseq but the
// interface header, so it never pulls a second copy of the library in.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "framework/distributed.hpp"

namespace {

class MpiCommunicator final : public xseq::Communicator {
 public:
  MpiCommunicator() {
    int provided = 0;
    // FUNNELED: only the main thread calls MPI (OpenMP threads never do).
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiCommunicator() override {
    finish_sums();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  std::string describe() const override {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string v(version, static_cast<std::size_t>(length));
    v = v.substr(0, v.find_first_of(",\n"));
    return v + ", " + std::to_string(size_) + " ranks";
  }

  void sum(double* data, std::size_t count) override {
    for (std::size_t done = 0; done < count;) {
      const int n = static_cast<int>(std::min<std::size_t>(count - done, INT_MAX));
      MPI_Allreduce(MPI_IN_PLACE, data + done, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      done += static_cast<std::size_t>(n);
    }
  }

  void start_sum(float* data, std::size_t count) override {
    for (std::size_t done = 0; done < count;) {
      const int n = static_cast<int>(std::min<std::size_t>(count - done, INT_MAX));
      requests_.emplace_back();
      MPI_Iallreduce(MPI_IN_PLACE, data + done, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &requests_.back());
      done += static_cast<std::size_t>(n);
    }
  }

  void progress() override {
    if (requests_.empty()) return;
    int all_done = 0;
    MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &all_done, MPI_STATUSES_IGNORE);
  }

  void finish_sums() override {
    if (requests_.empty()) return;
    MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    requests_.clear();
  }

  std::vector<std::string> gather_all(const std::string& text) override {
    int length = static_cast<int>(text.size());
    std::vector<int> lengths(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_));
    MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (int r = 0; r < size_; ++r) {
      offsets[static_cast<std::size_t>(r)] = total;
      total += lengths[static_cast<std::size_t>(r)];
    }
    std::string all(static_cast<std::size_t>(total), '\0');
    MPI_Allgatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                   MPI_COMM_WORLD);
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r)
      out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                               static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
    return out;
  }


 protected:
  void end_job(int exit_code) override {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
  }

 private:
  int rank_ = 0, size_ = 1;
  std::vector<MPI_Request> requests_;
};

}  // namespace

extern "C" xseq::Communicator* xseq_mpi_communicator(std::string* error) {
  try {
    return new MpiCommunicator();
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return nullptr;
  }
}
