#include "framework/distributed_gather.hpp"

#include <cstdio>
#include <exception>

#include "framework/error.hpp"

namespace xseq {

std::pair<std::int64_t, std::int64_t> contiguous_share(std::int64_t count, const Communicator& comm) {
  const std::int64_t n = comm.size(), r = comm.rank();
  return {r * count / n, (r + 1) * count / n};
}

std::string Unpacker::text() {
  const std::int64_t n = integer();
  XSEQ_CHECK(n >= 0, "Unpacker: negative string length ", n);
  need(static_cast<std::size_t>(n));
  std::string s = bytes_.substr(at_, static_cast<std::size_t>(n));
  at_ += static_cast<std::size_t>(n);
  return s;
}

void Unpacker::need(std::size_t n) const {
  XSEQ_CHECK(at_ + n <= bytes_.size(), "Unpacker: a gathered message is shorter than its contents (", bytes_.size(),
             " bytes, wanted ", at_ + n, ")");
}

int run_on_every_rank(Communicator& comm, const std::function<int()>& work) {
  if (comm.size() == 1) return work();
  try {
    return work();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error (rank %d of %d): %s\n", comm.rank(), comm.size(), e.what());
    comm.abort(1);
  }
}

}  // namespace xseq
