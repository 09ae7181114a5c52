// A caching allocator for tensor buffers. Training allocates the same sizes
// every step; reusing freed blocks keeps the steady state free of malloc/mmap
// and of the page faults that come with fresh memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace xseq {

struct MemoryStats {
  std::int64_t live_bytes = 0;    ///< bytes held by live tensors
  std::int64_t cached_bytes = 0;  ///< freed bytes kept for reuse
  std::int64_t peak_live_bytes = 0;
  std::int64_t system_allocs = 0;  ///< allocations that reached the system allocator
};

/// Returns 64-byte aligned memory for `bytes` bytes (rounded up to a size class).
/// A block larger than the machine's physical memory (or than 1 PiB) is refused
/// with an xseq::Error naming the size, as is a failed system allocation.
void* pool_allocate(std::size_t bytes);
/// pool_allocate(count * element_size), refusing a product that overflows.
void* pool_allocate(std::size_t count, std::size_t element_size);
/// Returns a block from pool_allocate(bytes) to the cache.
void pool_deallocate(void* ptr, std::size_t bytes) noexcept;
/// Gives every cached block back to the system.
void pool_release_cached() noexcept;
MemoryStats memory_stats();
/// The machine's physical memory in bytes (sysconf), or -1 when unknown.
std::int64_t physical_memory_bytes() noexcept;
/// "23.5 GiB": sizes in memory-related error messages.
std::string format_gib(double bytes);

/// std::allocator-compatible front end, used as the allocator of tensor storage.
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() noexcept = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(pool_allocate(n, sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { pool_deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const PoolAllocator<U>&) const noexcept { return false; }
};

}  // namespace xseq
