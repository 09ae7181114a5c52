#include "tests/helpers.hpp"

#include <algorithm>
#include <sstream>

#include <xtensor/xmath.hpp>

#include "framework/xt.hpp"

using namespace xseq;

TEST_CASE("Shape basics and error messages", "[tensor]") {
  Shape s{2, 3, 4};
  REQUIRE(s.ndim() == 3);
  REQUIRE(s.numel() == 24);
  REQUIRE(s.dim(-1) == 4);
  REQUIRE(s.str() == "(2, 3, 4)");
  REQUIRE(Shape{5}.str() == "(5,)");
  REQUIRE(Shape{}.numel() == 1);
  REQUIRE_THROWS_WITH(s.dim(3), Catch::Contains("axis 3 is out of range for a 3-d tensor"));
  REQUIRE(broadcast_shapes({2, 1, 4}, {3, 1}, "t") == Shape{2, 3, 4});
  REQUIRE_THROWS_WITH(broadcast_shapes({2, 3}, {4, 3}, "add"),
                      Catch::Contains("add: shapes (2, 3) and (4, 3) cannot be broadcast"));
}

TEST_CASE("Tensor construction, reshape shares storage, clone copies", "[tensor]") {
  Tensor t = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  REQUIRE(t.at({1, 2}) == 6.0f);
  Tensor r = t.reshape({3, -1});
  REQUIRE(r.shape() == Shape{3, 2});
  REQUIRE(r.shares_storage(t));
  Tensor c = t.clone();
  REQUIRE_FALSE(c.shares_storage(t));
  c.at({0, 0}) = 42.0f;
  REQUIRE(t.at({0, 0}) == 1.0f);
  REQUIRE_THROWS_WITH(t.reshape({4, 2}), Catch::Contains("cannot view (2, 3) (6 elements) as (4, 2)"));
  REQUIRE_THROWS_WITH(Tensor::from_vector({2, 2}, {1, 2, 3}), Catch::Contains("needs 4 values, got 3"));
  REQUIRE_THROWS_WITH(t.at({2, 0}), Catch::Contains("index 2 out of range for axis 0"));
  REQUIRE(Tensor::scalar(3.5f).item() == 3.5f);
  REQUIRE_THROWS(t.item());
}

TEST_CASE("xtensor interop views the same buffer", "[tensor]") {
  Tensor t = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
  auto view = as_xtensor(t);
  view(1, 0) = 30.0f;
  REQUIRE(t.at({1, 0}) == 30.0f);
  Tensor e = from_xtensor(xt::exp(as_xtensor(static_cast<const Tensor&>(t))));
  REQUIRE(e.shape() == Shape{2, 2});
  REQUIRE(e.at({0, 1}) == Approx(std::exp(2.0f)));
}

TEST_CASE("The caching allocator reuses freed blocks", "[tensor][memory]") {
  { Tensor warm({1000, 37}); }
  const auto before = memory_stats();
  for (int i = 0; i < 100; ++i) Tensor t({1000, 37});
  const auto after = memory_stats();
  REQUIRE(after.system_allocs == before.system_allocs);
  REQUIRE(after.live_bytes == before.live_bytes);
}

TEST_CASE("The caching allocator stays within twice the peak and keeps the sizes used last", "[tensor][memory]") {
  pool_release_cached();
  const std::int64_t limit = std::clamp<std::int64_t>(2 * memory_stats().peak_live_bytes, std::int64_t(256) << 20,
                                                      std::int64_t(4) << 30);
  const std::int64_t group = limit / 8;  // small enough not to raise the peak (and so the limit)
  // 24 size classes a quarter octave apart from 64 KiB (as batches of changing lengths
  // make): each allocated `group` bytes at a time, then freed into the cache.
  std::vector<std::size_t> sizes;
  for (int k = 0; k < 24; ++k) sizes.push_back(std::size_t(65536) << (k / 4));
  for (int k = 0; k < 24; ++k) sizes[std::size_t(k)] += sizes[std::size_t(k)] / 4 * std::size_t(k % 4);
  std::int64_t most_cached = 0, released = 0;
  for (const std::size_t size : sizes) {
    std::vector<void*> blocks(std::size_t(group) / size);
    for (auto& b : blocks) b = pool_allocate(size);
    for (auto* b : blocks) pool_deallocate(b, size);
    released += std::int64_t(blocks.size() * size);
    most_cached = std::max(most_cached, memory_stats().cached_bytes);
  }
  CHECK(released > 2 * limit);  // without eviction the cache would pass the limit
  CHECK(most_cached <= limit);
  const MemoryStats before = memory_stats();
  pool_deallocate(pool_allocate(sizes.back()), sizes.back());  // the newest size is still cached
  CHECK(memory_stats().system_allocs == before.system_allocs);
  pool_deallocate(pool_allocate(sizes.front()), sizes.front());  // the oldest was given back
  CHECK(memory_stats().system_allocs == before.system_allocs + 1);
  pool_release_cached();
  CHECK(memory_stats().cached_bytes == 0);
}

TEST_CASE("Tensors print their shape and values", "[tensor]") {
  std::ostringstream out;
  out << Tensor::from_vector({2, 2}, {1, 2, 3, 4.5f});
  REQUIRE(out.str() == "Tensor(2, 2) [[1, 2], [3, 4.5]]");
  std::ostringstream longer;
  longer << Tensor::zeros({8});
  REQUIRE(longer.str() == "Tensor(8,) [0, 0, 0, ..., 0, 0, 0]");
  std::ostringstream none;
  none << Tensor();
  REQUIRE(none.str() == "Tensor(undefined)");
}

TEST_CASE("Empty tensors pass through shape ops", "[tensor]") {
  Variable x(Tensor::zeros({2, 3}), true);
  Variable empty = narrow(x, 1, 1, 0);
  REQUIRE(empty.shape() == Shape{2, 0});
  Variable back = concat({empty, x}, 1);
  REQUIRE(back.shape() == Shape{2, 3});
  sum(back).backward();
  REQUIRE(x.grad().at({1, 2}) == 1.0f);
}

TEST_CASE("Using an undefined variable is a clear error", "[tensor][autograd]") {
  Variable undefined;
  REQUIRE_THROWS_WITH(relu(undefined), Catch::Contains("use of an undefined variable"));
  REQUIRE_THROWS_WITH(add(Variable(Tensor::zeros({1})), undefined), Catch::Contains("undefined variable"));
}

TEST_CASE("Variables print their value and gradient status", "[tensor][autograd]") {
  std::ostringstream leaf, interior, none;
  Variable w(Tensor::from_vector({2}, {1, 2}), true);
  leaf << w;
  interior << w * 2.0f;
  none << Variable();
  REQUIRE(leaf.str() == "Variable(Tensor(2,) [1, 2], requires_grad)");
  REQUIRE(interior.str() == "Variable(Tensor(2,) [2, 4], grad_fn)");
  REQUIRE(none.str() == "Variable(undefined)");
}
