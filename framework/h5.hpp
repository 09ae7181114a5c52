// HDF5 files of named float tensors: the checkpoint format and the golden test
// fixtures. A name is a '/'-separated path; a Module parameter's dotted name
// "encoder.layers.0.attn.q.weight" is stored at "encoder/layers/0/attn/q/weight".
//
// Files written here are checksummed: float datasets carry HDF5's Fletcher-32
// filter, and the root attribute "xseq.checksums" lists a CRC-32 (zlib's) of every
// dataset and attribute ("<f32|str|bin|att> <crc32 hex> <name>" per line). Reading such a file
// checks that it holds exactly the listed names and verifies each value when it is
// read. Files without the list (older checkpoints, golden fixtures) load unverified.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "framework/tensor.hpp"

namespace xseq {

struct H5MemoryImage;

class H5File {
 public:
  enum class Mode { read, truncate };
  /// read: opens `path`; errors name the file (missing, not HDF5, corrupt).
  /// truncate: creates/overwrites `path`; the file is built in memory and only
  /// written to disk by close().
  H5File(const std::string& path, Mode mode);
  /// Never throws. A file being written is finished as close() would, except while
  /// an exception unwinds (then it is deleted); call close() to learn about errors.
  ~H5File();
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;

  /// Writing: adds the checksum list, writes the file, fsyncs and closes it. On any
  /// failure the file is deleted and the error names it and the OS error ("No space
  /// left on device"). Reading: releases the file. A second call does nothing.
  void close();

  bool has(const std::string& name) const;
  /// A float32 tensor (any stored numeric type is converted).
  Tensor read(const std::string& name) const;
  /// Writes a float32 dataset (chunked, Fletcher-32), creating the groups on its path.
  void write(const std::string& name, const Tensor& value);
  /// A UTF-8 string dataset (vocabularies, configs), stored as one fixed-length string;
  /// read_string() also reads the variable-length strings of older files.
  void write_string(const std::string& name, const std::string& value);
  std::string read_string(const std::string& name) const;
  /// Bytes stored exactly (NULs included) as an opaque 1-D dataset (a SentencePiece model).
  void write_bytes(const std::string& name, const std::string& value);
  std::string read_bytes(const std::string& name) const;
  /// Every dataset path below `group` ("" = the whole file), sorted, without a leading '/'.
  std::vector<std::string> datasets(const std::string& group = "") const;
  /// A string attribute on the root group.
  void set_attribute(const std::string& key, const std::string& value);
  std::string attribute(const std::string& key) const;  ///< "" if absent
  /// The root attributes' keys, sorted (without "xseq.checksums").
  std::vector<std::string> attributes() const;
  /// True when the file carries a checksum list (it was written by this class).
  bool checksummed() const { return checksummed_; }
  /// Reads every listed dataset and attribute, verifying each checksum; throws on the
  /// first problem. Requires checksummed().
  void verify() const;
  const std::string& path() const { return path_; }

 private:
  void open_for_reading();
  void create_for_writing();
  void finish_writing();
  void discard() noexcept;
  void write_attribute(const std::string& key, const std::string& value);
  std::string read_attribute(const std::string& key) const;
  std::string read_variable_string(std::int64_t dataset, std::int64_t type, const std::string& name) const;
  void load_checksums();
  void check_listing() const;
  void verify_checksum(const std::string& key, const void* data, std::size_t bytes) const;

  std::string path_;
  Mode mode_;
  std::int64_t file_ = -1;  // hid_t
  int fd_ = -1;             // truncate: the file on disk, written by close()
  bool remove_on_failure_ = false;
  int uncaught_ = 0;
  std::unique_ptr<H5MemoryImage> image_;
  std::map<std::string, std::uint32_t> checksums_;  // "<kind> <name>" -> CRC-32
  bool checksummed_ = false;
};

/// "a.b.c" -> "a/b/c".
std::string dotted_to_h5_path(const std::string& dotted);

/// HDF5 objects (files, datasets, ...) open in this process; tests check that
/// failures leak none.
std::int64_t hdf5_open_objects();

}  // namespace xseq
