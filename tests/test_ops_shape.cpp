#include "tests/helpers.hpp"

using namespace xseq;
using namespace xseq::test;

TEST_CASE("reshape, permute and transpose values", "[ops][shape]") {
  Variable x(Tensor::from_vector({2, 3}, {0, 1, 2, 3, 4, 5}));
  Variable r = reshape(x, {3, -1});
  REQUIRE(r.shape() == Shape{3, 2});
  REQUIRE(r.value().shares_storage(x.value()));
  require_close(transpose(x, 0, 1).value(), {0, 3, 1, 4, 2, 5});
  Variable y(Tensor::from_vector({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}));
  Variable p = permute(y, {2, 0, 1});  // out[k, i, j] = y[i, j, k]
  REQUIRE(p.shape() == Shape{2, 2, 2});
  require_close(p.value(), {0, 2, 4, 6, 1, 3, 5, 7});
  REQUIRE_THROWS_WITH(permute(y, {0, 0, 1}), Catch::Contains("appears twice"));
  REQUIRE_THROWS_WITH(reshape(x, {4, -1}), Catch::Contains("cannot infer -1"));
}

TEST_CASE("concat, split and narrow values", "[ops][shape]") {
  Variable a(Tensor::from_vector({2, 1}, {1, 2})), b(Tensor::from_vector({2, 2}, {3, 4, 5, 6}));
  Variable c = concat({a, b}, 1);
  REQUIRE(c.shape() == Shape{2, 3});
  require_close(c.value(), {1, 3, 4, 2, 5, 6});
  auto parts = split(c, {2, 1}, -1);
  require_close(parts[0].value(), {1, 3, 2, 5});
  require_close(parts[1].value(), {4, 6});
  require_close(narrow(c, 0, 1, 1).value(), {2, 5, 6});
  REQUIRE_THROWS_WITH(concat({a, Variable(Tensor::zeros({3, 1}))}, 1),
                      Catch::Contains("concat: input 1 has shape (3, 1), expected (2, 1) except along axis 1"));
  REQUIRE_THROWS_WITH(split(c, {2, 2}, 1), Catch::Contains("sizes add up to 4 but axis 1"));
  REQUIRE_THROWS_WITH(narrow(c, 1, 2, 2), Catch::Contains("range [2, 4) is out of bounds"));
}

TEST_CASE("stack joins along a new axis", "[ops][shape]") {
  Variable a(Tensor::from_vector({2}, {1, 2})), b(Tensor::from_vector({2}, {3, 4}));
  require_close(stack({a, b}, 0).value(), {1, 2, 3, 4});
  Variable s = stack({a, b}, -1);
  REQUIRE(s.shape() == Shape{2, 2});
  require_close(s.value(), {1, 3, 2, 4});
  REQUIRE_THROWS_WITH(stack({a, Variable(Tensor::zeros({3}))}, 0),
                      Catch::Contains("stack: input 1 has shape (3,), expected (2,)"));
}

TEST_CASE("Gradients of shape ops", "[gradcheck][ops][shape]") {
  Rng rng(31);
  Variable x = param(uniform({2, 3, 4}, rng));
  Variable y = param(uniform({2, 2, 4}, rng));
  // Multiply by x after the shape op so that each output element has its own weight.
  require_gradients_match([&] { return reshape(x, {4, 6}) * 2.0f; }, {x});
  require_gradients_match([&] { return transpose(x, 0, 2); }, {x});
  require_gradients_match([&] { return permute(x, {1, 2, 0}); }, {x});
  Variable x4 = param(uniform({2, 3, 2, 2}, rng));
  require_gradients_match([&] { return permute(x4, {0, 2, 1, 3}); }, {x4});  // (B,T,H,d) -> (B,H,T,d)
  require_gradients_match([&] { return concat({x, y, x}, 1); }, {x, y});
  require_gradients_match([&] { return narrow(x, 2, 1, 2); }, {x});
  Variable z = param(uniform({2, 3, 4}, rng));
  require_gradients_match([&] { return stack({x, z, x}, 1); }, {x, z});
  require_gradients_match([&] {
    auto parts = split(x, {1, 2}, 1);
    return parts[1] * 3.0f + concat({parts[0], parts[0]}, 1);
  }, {x});
}
