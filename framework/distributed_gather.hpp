// Sharded evaluation and translation under mpirun (docs/distributed.md, "Eval and
// translate"): which contiguous share of a list a rank takes, and the exact
// (bit-for-bit) packing of what it produced, gathered in rank order.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "framework/distributed.hpp"

namespace xseq {

/// Rank r of N takes items [r*count/N, (r+1)*count/N): contiguous, in order, sizes
/// differing by at most one (a rank may get none).
std::pair<std::int64_t, std::int64_t> contiguous_share(std::int64_t count, const Communicator& comm);

/// Appends numbers (bit-exact: a double travels as its 8 bytes) and strings
/// (length-prefixed) to one byte string for Communicator::gather_all.
class Packer {
 public:
  void put(double x) { put_bytes(&x, sizeof x); }
  void put(std::int64_t x) { put_bytes(&x, sizeof x); }
  void put(const std::string& s) {
    put(static_cast<std::int64_t>(s.size()));
    bytes_ += s;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  void put_bytes(const void* p, std::size_t n) { bytes_.append(static_cast<const char*>(p), n); }
  std::string bytes_;
};

/// Reads back what a Packer wrote, in the same order (throws on a short buffer).
class Unpacker {
 public:
  explicit Unpacker(const std::string& bytes) : bytes_(bytes) {}
  double real() { return get<double>(); }
  std::int64_t integer() { return get<std::int64_t>(); }
  std::string text();
  bool done() const { return at_ == bytes_.size(); }

 private:
  template <typename T>
  T get() {
    T x;
    need(sizeof x);
    std::memcpy(&x, bytes_.data() + at_, sizeof x);
    at_ += sizeof x;
    return x;
  }
  void need(std::size_t n) const;
  const std::string& bytes_;
  std::size_t at_ = 0;
};

/// Runs `work` on this rank. With more than one rank, an exception does not leave
/// the others waiting in a collective: the rank prints `error (rank r of N): ...`
/// and takes the whole job down (Communicator::abort). With one rank it is just work().
int run_on_every_rank(Communicator& comm, const std::function<int()>& work);

}  // namespace xseq
