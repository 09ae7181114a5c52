#include <cstdio>
#include <fstream>

#include "helpers.hpp"

using namespace xseq;

TEST_CASE("H5File: tensors and attributes round-trip", "[h5]") {
  const std::string path = "test_h5_roundtrip.h5";
  Rng rng(5);
  const Tensor a = test::uniform({3, 4}, rng), b = test::uniform({2, 2, 5}, rng);
  {
    H5File f(path, H5File::Mode::truncate);
    f.write(dotted_to_h5_path("encoder.layers.0.q.weight"), a);
    f.write("b", b);
    f.write("scalar", Tensor::scalar(2.5f));
    f.set_attribute("format", "xseq-1");
  }
  H5File f(path, H5File::Mode::read);
  CHECK(f.has("encoder/layers/0/q/weight"));
  CHECK_FALSE(f.has("encoder/layers/1/q/weight"));
  CHECK(max_abs_diff(f.read("encoder/layers/0/q/weight"), a) == 0.0f);
  CHECK(f.read("b").shape() == b.shape());
  CHECK(f.read("scalar").item() == 2.5f);
  CHECK(f.attribute("format") == "xseq-1");
  CHECK(f.attribute("missing").empty());
  CHECK(f.datasets() == std::vector<std::string>{"b", "encoder/layers/0/q/weight", "scalar"});
  CHECK(f.datasets("encoder") == std::vector<std::string>{"layers/0/q/weight"});
  CHECK_THROWS_WITH(f.read("encoder/nope"), Catch::Contains("has no dataset 'encoder/nope'"));
  std::remove(path.c_str());
}

TEST_CASE("H5File: missing and non-HDF5 files are clear errors", "[h5]") {
  CHECK_THROWS_WITH(H5File("no/such/file.h5", H5File::Mode::read),
                    Catch::Contains("cannot open 'no/such/file.h5'"));
  { std::ofstream("not_hdf5.h5") << "hello"; }
  CHECK_THROWS_WITH(H5File("not_hdf5.h5", H5File::Mode::read), Catch::Contains("not an HDF5 file"));
  std::remove("not_hdf5.h5");
}
