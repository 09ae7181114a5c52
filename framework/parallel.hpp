// Thread control. xseq's own kernels (OpenMP loops) and OpenBLAS (its OpenMP
// build) share one libgomp thread pool; set_num_threads sets both, so the
// machine is never oversubscribed (BLAS called inside our parallel loops runs
// single-threaded).
#pragma once

#include <cstdint>

namespace xseq {

/// Sets the thread count for xseq's kernels and for OpenBLAS. n <= 0 means
/// "all cores".
void set_num_threads(int n);
int num_threads();

/// Loops over fewer elements than this run on one thread: below it, waking
/// the pool costs more than it saves.
constexpr std::int64_t kParallelGrain = 16384;

}  // namespace xseq
