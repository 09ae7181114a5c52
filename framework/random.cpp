#include "framework/random.hpp"

#include <cmath>

namespace xseq {

float Rng::normal() {
  // 1 - u keeps the log argument in (0, 1].
  const double u1 = 1.0 - double(uniform());
  const double u2 = double(uniform());
  return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

}  // namespace xseq
