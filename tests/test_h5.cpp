#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

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
                    Catch::Contains("cannot open 'no/such/file.h5'") && Catch::Contains("No such file or directory"));
  { std::ofstream("not_hdf5.h5") << "hello"; }
  CHECK_THROWS_WITH(H5File("not_hdf5.h5", H5File::Mode::read), Catch::Contains("not a readable HDF5 file") && Catch::Contains("file signature not found"));
  std::remove("not_hdf5.h5");
}

namespace {
std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST_CASE("H5File: scalars, empty and multi-chunk tensors, large attributes, checksum list", "[h5][robust]") {
  const std::string path = "test_h5_kinds.h5";
  const auto open_before = hdf5_open_objects();
  Rng rng(6);
  const Tensor big = test::uniform({700, 400}, rng);  // 280,000 floats: two Fletcher-32 chunks
  const std::string long_value(100000, 'x');         // beyond the 64 KiB of an object header
  {
    H5File f(path, H5File::Mode::truncate);
    f.write("scalar", Tensor::scalar(-3.5f));
    f.write("empty", Tensor::zeros({0, 4}));
    f.write("big", big);
    f.write_string("text", "ä\nb");
    f.set_attribute("long", long_value);
    f.set_attribute("empty", "");
    for (int k = 0; k < 12; ++k) f.set_attribute("k" + std::to_string(k), std::to_string(k * k));  // dense storage
    f.set_attribute("k3", "replaced");
    f.close();
    f.close();  // a second close does nothing
  }
  H5File f(path, H5File::Mode::read);
  CHECK(f.checksummed());
  CHECK(f.read("scalar").ndim() == 0);
  CHECK(f.read("scalar").item() == -3.5f);
  CHECK(f.read("empty").shape() == Shape{0, 4});
  CHECK(max_abs_diff(f.read("big"), big) == 0.0f);
  CHECK(f.read_string("text") == "ä\nb");
  CHECK(f.attribute("long") == long_value);
  CHECK(f.attribute("empty").empty());
  for (int k = 0; k < 12; ++k) CHECK(f.attribute("k" + std::to_string(k)) == (k == 3 ? "replaced" : std::to_string(k * k)));
  CHECK(f.attributes().size() == 14);
  CHECK_NOTHROW(f.verify());
  f.close();
  CHECK(hdf5_open_objects() == open_before);
  std::remove(path.c_str());
}

TEST_CASE("H5File: a write error names the file and the OS error, and leaves no file", "[h5][robust]") {
  const auto open_before = hdf5_open_objects();
  if (std::filesystem::exists("/dev/full")) {
    H5File full("/dev/full", H5File::Mode::truncate);
    full.write("x", Tensor::ones({8}));
    CHECK_THROWS_WITH(full.close(), "cannot write '/dev/full': No space left on device");
    CHECK(std::filesystem::exists("/dev/full"));  // only regular files are removed after a failure
  }
  CHECK_THROWS_WITH(H5File("no/such/dir/x.h5", H5File::Mode::truncate),
                    "cannot create 'no/such/dir/x.h5': No such file or directory");
  try {
    H5File doomed("test_h5_doomed.h5", H5File::Mode::truncate);
    doomed.write("x", Tensor::ones({2}));
    throw std::runtime_error("stop");
  } catch (const std::runtime_error&) {
  }
  CHECK_FALSE(std::filesystem::exists("test_h5_doomed.h5"));  // abandoned while unwinding: deleted
  CHECK(hdf5_open_objects() == open_before);
}

TEST_CASE("H5File: a flipped byte in a string dataset is a checksum error", "[h5][robust]") {
  const std::string path = "test_h5_flip.h5", marker = "a distinctive vocabulary line";
  {
    H5File f(path, H5File::Mode::truncate);
    f.write_string("vocab/src", marker);
  }
  std::string bytes = file_bytes(path);
  const auto at = bytes.find(marker);
  REQUIRE(at != std::string::npos);
  bytes[at + 3] ^= 0x20;
  std::ofstream(path, std::ios::binary) << bytes;
  H5File f(path, H5File::Mode::read);
  CHECK_THROWS_WITH(f.read_string("vocab/src"),
                    "HDF5 file 'test_h5_flip.h5': dataset 'vocab/src' is corrupt (checksum mismatch)");
  CHECK_THROWS_WITH(f.verify(), Catch::Contains("is corrupt (checksum mismatch)"));
  std::remove(path.c_str());
}

TEST_CASE("H5File: bytes datasets keep every byte, NULs included, and are checksummed", "[h5][robust]") {
  const std::string path = "test_h5_bytes.h5";
  const std::string bytes = std::string("\x00\x01spm\xff\x00model", 12) + std::string(1000, '\x7f');
  {
    H5File f(path, H5File::Mode::truncate);
    f.write_bytes("tokenizer/sentencepiece", bytes);
    f.write_bytes("empty", "");
    f.close();
  }
  {
    H5File f(path, H5File::Mode::read);
    CHECK(f.read_bytes("tokenizer/sentencepiece") == bytes);
    CHECK(f.read_bytes("empty").empty());
    CHECK_NOTHROW(f.verify());
    CHECK_THROWS_WITH(f.read_string("tokenizer/sentencepiece"), Catch::Contains("is not a string"));
  }
  // One flipped payload byte: the zlib CRC-32 in the checksum list catches it.
  std::fstream raw(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
  const auto at = all.find(std::string(1000, '\x7f'));
  REQUIRE(at != std::string::npos);
  raw.seekp(static_cast<std::streamoff>(at + 500));
  raw.put('\x7e');
  raw.close();
  H5File f(path, H5File::Mode::read);
  CHECK_THROWS_WITH(f.read_bytes("tokenizer/sentencepiece"), Catch::Contains("checksum mismatch"));
  std::remove(path.c_str());
}
