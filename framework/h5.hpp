// HDF5 files of named float tensors: the checkpoint format and the golden test
// fixtures. A name is a '/'-separated path; a Module parameter's dotted name
// "encoder.layers.0.attn.q.weight" is stored at "encoder/layers/0/attn/q/weight".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/tensor.hpp"

namespace xseq {

class H5File {
 public:
  enum class Mode { read, truncate };
  /// Opens (read) or creates/overwrites (truncate) `path`; errors name the file.
  H5File(const std::string& path, Mode mode);
  ~H5File();
  /// Flushes everything written so far to the file (before an atomic rename).
  void flush();
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;

  bool has(const std::string& name) const;
  /// A float32 tensor (any stored numeric type is converted).
  Tensor read(const std::string& name) const;
  /// Writes a float32 dataset, creating the groups on its path.
  void write(const std::string& name, const Tensor& value);
  /// A variable-length UTF-8 string dataset (vocabularies, configs).
  void write_string(const std::string& name, const std::string& value);
  std::string read_string(const std::string& name) const;
  /// Every dataset path below `group` ("" = the whole file), sorted, without a leading '/'.
  std::vector<std::string> datasets(const std::string& group = "") const;
  /// A string attribute on the root group.
  void set_attribute(const std::string& key, const std::string& value);
  std::string attribute(const std::string& key) const;  ///< "" if absent
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::int64_t file_ = -1;  // hid_t
};

/// "a.b.c" -> "a/b/c".
std::string dotted_to_h5_path(const std::string& dotted);

}  // namespace xseq
