// A seeded, counter-based random generator. Every draw is a pure function of
// (seed, counter), so bulk draws (dropout masks, initialisers) can be made in
// parallel and still give the same numbers for any thread count, and the
// whole state is two integers (easy to checkpoint).
#pragma once

#include <cstdint>

namespace xseq {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : seed_(seed) {}

  /// The i-th 64-bit value of stream `seed` (splitmix64's mixer over seed and
  /// counter). Inline so that bulk loops (dropout masks) vectorise.
  static std::uint64_t hash(std::uint64_t seed, std::uint64_t counter) {
    std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + (counter + 1) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// A 32-bit hash of (key, i) (lowbias32's mixer): the bulk draw of dropout
  /// masks, where 64-bit multiplies would not vectorise on AVX2. Each bulk draw
  /// takes its key from hash(seed, first counter).
  static std::uint32_t hash32(std::uint32_t key, std::uint32_t i) {
    std::uint32_t x = i * 0x9E3779B9u + key;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    return x ^ (x >> 16);
  }
  /// Maps 64 random bits to a float in [0, 1).
  static float to_uniform(std::uint64_t bits) { return float(bits >> 40) * (1.0f / 16777216.0f); }

  std::uint64_t next_u64() { return hash(seed_, counter_++); }
  float uniform() { return to_uniform(next_u64()); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal (Box-Muller on two uniforms).
  float normal();
  /// Integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return next_u64() % n; }
  /// Reserves `n` consecutive counters for a bulk draw and returns the first;
  /// element i of the draw uses hash(seed(), first + i).
  std::uint64_t reserve(std::uint64_t n) {
    const std::uint64_t first = counter_;
    counter_ += n;
    return first;
  }

  std::uint64_t seed() const { return seed_; }
  std::uint64_t counter() const { return counter_; }
  void set_state(std::uint64_t seed, std::uint64_t counter) {
    seed_ = seed;
    counter_ = counter;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t counter_ = 0;
};

}  // namespace xseq
