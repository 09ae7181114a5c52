#include "framework/memory.hpp"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace xseq {
namespace {

constexpr std::size_t kAlignment = 64;
// Blocks above this many cached bytes are returned to the system instead.
constexpr std::int64_t kMaxCachedBytes = std::int64_t(4) << 30;

// Size classes: four per power of two (at most 25% slack), multiples of 64 bytes.
std::size_t size_class(std::size_t bytes) {
  if (bytes <= 256) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  std::size_t pow2 = 256;
  while (pow2 * 2 < bytes) pow2 *= 2;
  const std::size_t step = pow2 / 4;
  return (bytes + step - 1) / step * step;
}

struct Pool {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;
  MemoryStats stats;
};

Pool& pool() {
  static Pool* instance = new Pool();  // never destroyed: tensors may outlive static destructors
  return *instance;
}

}  // namespace

void* pool_allocate(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  const std::size_t cls = size_class(bytes);
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    auto it = p.free_blocks.find(cls);
    if (it != p.free_blocks.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
      p.stats.cached_bytes -= std::int64_t(cls);
      p.stats.live_bytes += std::int64_t(cls);
      if (p.stats.live_bytes > p.stats.peak_live_bytes) p.stats.peak_live_bytes = p.stats.live_bytes;
      return ptr;
    }
    p.stats.live_bytes += std::int64_t(cls);
    p.stats.system_allocs += 1;
    if (p.stats.live_bytes > p.stats.peak_live_bytes) p.stats.peak_live_bytes = p.stats.live_bytes;
  }
  void* ptr = std::aligned_alloc(kAlignment, cls);
  if (!ptr) throw std::bad_alloc();
  return ptr;
}

void pool_deallocate(void* ptr, std::size_t bytes) noexcept {
  if (!ptr) return;
  if (bytes == 0) bytes = 1;
  const std::size_t cls = size_class(bytes);
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.stats.live_bytes -= std::int64_t(cls);
    if (p.stats.cached_bytes + std::int64_t(cls) <= kMaxCachedBytes) {
      try {
        p.free_blocks[cls].push_back(ptr);
        p.stats.cached_bytes += std::int64_t(cls);
        return;
      } catch (...) {
        // fall through: give the block back to the system
      }
    }
  }
  std::free(ptr);
}

void pool_release_cached() noexcept {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (auto& [cls, blocks] : p.free_blocks)
    for (void* ptr : blocks) std::free(ptr);
  p.free_blocks.clear();
  p.stats.cached_bytes = 0;
}

MemoryStats memory_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.stats;
}

}  // namespace xseq
