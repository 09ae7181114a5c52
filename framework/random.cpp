#include "framework/random.hpp"

#include <cmath>

namespace xseq {

std::uint64_t Rng::hash(std::uint64_t seed, std::uint64_t counter) {
  // splitmix64 over a stream-specific start; passes BigCrush as a generator.
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + (counter + 1) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float Rng::normal() {
  // 1 - u keeps the log argument in (0, 1].
  const double u1 = 1.0 - double(uniform());
  const double u2 = double(uniform());
  return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

}  // namespace xseq
