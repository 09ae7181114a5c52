#include "framework/memory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "framework/error.hpp"

namespace xseq {
namespace {

constexpr std::size_t kAlignment = 64;
// The cache holds at most twice the peak of live bytes, within these bounds. With
// fixed shapes every freed block is asked for again next step and the cache never
// reaches twice the peak; with lengths that change every batch, the sizes of
// earlier batches would otherwise fill it with blocks nobody asks for (a 4 GiB cache
// of them made long-sequence training spend 40% of its time in page faults).
constexpr std::int64_t kMinCacheLimit = std::int64_t(256) << 20;
constexpr std::int64_t kMaxCacheLimit = std::int64_t(4) << 30;
// No single block is larger than 1 PiB, whatever the machine: this keeps the
// size-class arithmetic below far from overflow.
constexpr std::size_t kMaxBlockBytes = std::size_t(1) << 50;

// Size classes: four per power of two (at most 25% slack), multiples of 64 bytes.
// `bytes` is at most kMaxBlockBytes (pool_allocate checks), so nothing overflows.
std::size_t size_class(std::size_t bytes) {
  if (bytes <= 256) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  std::size_t pow2 = 256;
  while (pow2 < bytes - pow2) pow2 *= 2;  // pow2 * 2 < bytes, without overflowing
  const std::size_t step = pow2 / 4;
  return (bytes + step - 1) / step * step;
}

[[noreturn]] void refuse(std::size_t bytes, const std::string& why) {
  throw Error(detail::concat("cannot allocate ", bytes, " bytes (", format_gib(double(bytes)), ") for one tensor: ", why,
                             " (a size in the config or the input is too large)"));
}

// Refuses sizes no machine holds, and blocks larger than this machine's memory
// (which overcommit would grant and the OOM killer would end later).
void check_block_size(std::size_t bytes) {
  const std::int64_t physical = physical_memory_bytes();
  if (bytes > kMaxBlockBytes) refuse(bytes, "more than any machine's memory");
  if (physical > 0 && bytes > std::size_t(physical))
    refuse(bytes, "more than this machine's " + format_gib(double(physical)) + " of memory");
}

struct FreeList {
  std::vector<void*> blocks;
  std::uint64_t last_use = 0;  ///< Pool::clock when a block of this class last came or went
};

struct Pool {
  std::mutex mutex;
  std::unordered_map<std::size_t, FreeList> free_blocks;
  std::uint64_t clock = 0;
  MemoryStats stats;

  std::int64_t cache_limit() const {
    return std::clamp(2 * stats.peak_live_bytes, kMinCacheLimit, kMaxCacheLimit);
  }
  // Moves the blocks of the least recently used classes other than `keep` to
  // `out` (freed by the caller, outside the lock) until at most `target` bytes
  // stay cached.
  void evict(std::int64_t target, std::size_t keep, std::vector<void*>& out) {
    std::vector<std::pair<std::uint64_t, std::size_t>> by_age;
    for (const auto& [cls, list] : free_blocks)
      if (cls != keep && !list.blocks.empty()) by_age.emplace_back(list.last_use, cls);
    std::sort(by_age.begin(), by_age.end());
    for (const auto& [age, cls] : by_age) {
      if (stats.cached_bytes <= target) break;
      FreeList& list = free_blocks[cls];
      out.insert(out.end(), list.blocks.begin(), list.blocks.end());  // may throw: count after it
      stats.cached_bytes -= std::int64_t(cls * list.blocks.size());
      free_blocks.erase(cls);
    }
  }
};

Pool& pool() {
  static Pool* instance = new Pool();  // never destroyed: tensors may outlive static destructors
  return *instance;
}

}  // namespace

void* pool_allocate(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  check_block_size(bytes);
  const std::size_t cls = size_class(bytes);
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    auto it = p.free_blocks.find(cls);
    if (it != p.free_blocks.end() && !it->second.blocks.empty()) {
      void* ptr = it->second.blocks.back();
      it->second.blocks.pop_back();
      it->second.last_use = ++p.clock;
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
  if (!ptr) {  // give the cache back and try once more
    pool_release_cached();
    ptr = std::aligned_alloc(kAlignment, cls);
  }
  if (!ptr) {
    {
      std::lock_guard<std::mutex> lock(p.mutex);
      p.stats.live_bytes -= std::int64_t(cls);
    }
    refuse(bytes, "out of memory");
  }
  return ptr;
}

void* pool_allocate(std::size_t count, std::size_t element_size) {
  if (element_size != 0 && count > std::numeric_limits<std::size_t>::max() / element_size)
    throw Error(detail::concat("cannot allocate ", count, " elements of ", element_size,
                               " bytes: the size overflows (a size in the config or the input is too large)"));
  return pool_allocate(count * element_size);
}

void pool_deallocate(void* ptr, std::size_t bytes) noexcept {
  if (!ptr) return;
  if (bytes == 0) bytes = 1;
  const std::size_t cls = size_class(bytes);
  Pool& p = pool();
  std::vector<void*> evicted;
  bool cached = false;
  try {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.stats.live_bytes -= std::int64_t(cls);
    const std::int64_t limit = p.cache_limit();
    // Evict down to 3/4 of the limit, so that a run of new sizes does not sort
    // the classes on every release.
    if (p.stats.cached_bytes + std::int64_t(cls) > limit) p.evict(limit / 4 * 3 - std::int64_t(cls), cls, evicted);
    if (p.stats.cached_bytes + std::int64_t(cls) <= limit) {
      FreeList& list = p.free_blocks[cls];
      list.blocks.push_back(ptr);
      list.last_use = ++p.clock;
      p.stats.cached_bytes += std::int64_t(cls);
      cached = true;
    }
  } catch (...) {
    // out of memory for the bookkeeping: give the block back to the system
  }
  for (void* block : evicted) std::free(block);
  if (!cached) std::free(ptr);
}

void pool_release_cached() noexcept {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (auto& [cls, list] : p.free_blocks)
    for (void* ptr : list.blocks) std::free(ptr);
  p.free_blocks.clear();
  p.stats.cached_bytes = 0;
}

std::string format_gib(double bytes) {
  char text[64];
  std::snprintf(text, sizeof text, "%.1f GiB", bytes / double(std::int64_t(1) << 30));
  return text;
}

std::int64_t physical_memory_bytes() noexcept {
  static const std::int64_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? std::int64_t(pages) * std::int64_t(page) : std::int64_t(-1);
  }();
  return bytes;
}

MemoryStats memory_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.stats;
}

}  // namespace xseq
