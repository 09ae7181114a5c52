#include "framework/h5.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <set>
#include <sstream>

namespace xseq {

// The finished file, handed over by HDF5's in-memory ("core") driver when it closes.
struct H5MemoryImage {
  void* data = nullptr;
  std::size_t capacity = 0;
  ~H5MemoryImage() { std::free(data); }
};

namespace {

const char* const kChecksumAttribute = "xseq.checksums";
const char* const kBytesTag = "xseq bytes";
constexpr hsize_t kChunkElements = 1 << 18;  // at most 1 MiB of float32 per Fletcher-32 chunk

// HDF5 prints its own error stack by default; xseq reports errors itself.
struct SilenceHdf5 {
  SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const SilenceHdf5 silence_hdf5;

class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id(id), close_(close) {}
  Handle(Handle&& other) noexcept : id(other.id), close_(other.close_) { other.id = -1; }
  Handle(const Handle&) = delete;
  ~Handle() { release(); }
  /// Closes now; the status matters where closing writes (a dataset's chunks).
  herr_t release() {
    const herr_t status = id >= 0 ? close_(id) : 0;
    id = -1;
    return status;
  }
  hid_t id;

 private:
  herr_t (*close_)(hid_t);
};

// zlib's CRC-32 (the value Python's zlib.crc32 gives the same bytes).
std::uint32_t crc32(const void* data, std::size_t n) {
  return static_cast<std::uint32_t>(::crc32_z(0L, static_cast<const Bytef*>(data), n));
}

herr_t collect_error(unsigned, const H5E_error2_t* error, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(error->desc ? error->desc : "");
  return 0;
}

// Why the last HDF5 call failed: the OS error where HDF5 reports one ("No space left
// on device"), "checksum mismatch" for a failed checksum, else HDF5's innermost message.
std::string hdf5_reason() {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &messages);
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    const auto at = it->find("errno = ");
    if (at != std::string::npos) return std::strerror(std::atoi(it->c_str() + at + 8));
  }
  for (const auto& m : messages)
    if (m.find("checksum") != std::string::npos) return "checksum mismatch";
  return messages.empty() ? "unknown HDF5 error" : messages.back();
}

herr_t collect_dataset(hid_t, const char* name, const H5O_info_t* info, void* out) {
  if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

herr_t collect_attribute(hid_t, const char* name, const H5A_info_t*, void* out) {
  if (std::strcmp(name, kChecksumAttribute) != 0) static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

// The core driver's buffer goes through these; on close it is kept instead of freed.
void* image_malloc(std::size_t size, H5FD_file_image_op_t, void* image) {
  static_cast<H5MemoryImage*>(image)->capacity = size;
  return std::malloc(size);
}
void* image_realloc(void* p, std::size_t size, H5FD_file_image_op_t, void* image) {
  static_cast<H5MemoryImage*>(image)->capacity = size;
  return std::realloc(p, size);
}
void* image_memcpy(void* to, const void* from, std::size_t n, H5FD_file_image_op_t, void*) {
  return std::memcpy(to, from, n);
}
herr_t image_free(void* p, H5FD_file_image_op_t op, void* image) {
  if (op != H5FD_FILE_IMAGE_OP_FILE_CLOSE) {
    std::free(p);
    return 0;
  }
  auto* kept = static_cast<H5MemoryImage*>(image);
  std::free(kept->data);
  kept->data = p;
  return 0;
}
void* image_udata_copy(void* image) { return image; }
herr_t image_udata_free(void*) { return 0; }

// Writing builds the whole file in memory: every disk write is then one plain write()
// whose errno we see, and HDF5 never holds a half-written file it cannot close (an
// HDF5 file whose close failed stays open and crashes HDF5's clean-up at exit).
Handle write_access(H5MemoryImage* image) {
  Handle fapl{H5Pcreate(H5P_FILE_ACCESS), H5Pclose};
  H5FD_file_image_callbacks_t callbacks{image_malloc, image_memcpy,     image_realloc, image_free,
                                        image_udata_copy, image_udata_free, image};
  // Format 1.10: superblock, object headers and chunk indexes carry checksums.
  const bool ok = fapl.id >= 0 && H5Pset_fapl_core(fapl.id, 1 << 20, 0) >= 0 &&
                  H5Pset_file_image_callbacks(fapl.id, &callbacks) >= 0 &&
                  H5Pset_libver_bounds(fapl.id, H5F_LIBVER_V110, H5F_LIBVER_V110) >= 0 &&
                  H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG) >= 0;
  XSEQ_CHECK(ok, "HDF5: cannot set up an in-memory file (", hdf5_reason(), ")");
  return fapl;
}

Handle intermediate_groups() {
  Handle lcpl{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  XSEQ_CHECK(lcpl.id >= 0 && H5Pset_create_intermediate_group(lcpl.id, 1) >= 0, "HDF5: cannot create a property list (",
             hdf5_reason(), ")");
  return lcpl;
}

// Whole leading-axis rows, at most kChunkElements per chunk. A 0-d or empty tensor
// cannot be chunked: it is stored plainly and only the CRC-32 list covers it.
Handle fletcher32_chunks(const Tensor& value) {
  Handle dcpl{H5Pcreate(H5P_DATASET_CREATE), H5Pclose};
  XSEQ_CHECK(dcpl.id >= 0, "HDF5: cannot create a property list (", hdf5_reason(), ")");
  if (value.ndim() == 0 || value.numel() == 0) return dcpl;
  hsize_t chunk[Shape::kMaxDims];
  for (int d = 0; d < value.ndim(); ++d) chunk[d] = static_cast<hsize_t>(value.dim(d));
  const hsize_t row = static_cast<hsize_t>(value.numel()) / chunk[0];
  chunk[0] = std::clamp<hsize_t>(kChunkElements / row, 1, chunk[0]);
  XSEQ_CHECK(H5Pset_chunk(dcpl.id, value.ndim(), chunk) >= 0 && H5Pset_fletcher32(dcpl.id) >= 0,
             "HDF5: cannot set up Fletcher-32 chunks (", hdf5_reason(), ")");
  return dcpl;
}

void write_fully(int fd, const char* data, std::size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t written = ::write(fd, data, n);
    if (written < 0 && errno == EINTR) continue;
    const int err = errno;
    XSEQ_CHECK(written > 0, "cannot write '", path, "': ", written < 0 ? std::strerror(err) : "no progress");
    data += written;
    n -= static_cast<std::size_t>(written);
  }
}

// "<kind> <8 hex digits> <name>"; false when malformed or a repeat.
bool parse_checksum_line(const std::string& line, std::map<std::string, std::uint32_t>& out) {
  if (line.size() < 14 || line[3] != ' ' || line[12] != ' ') return false;
  const std::string kind = line.substr(0, 3), hex = line.substr(4, 8);
  if (kind != "f32" && kind != "str" && kind != "bin" && kind != "att") return false;
  if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) return false;
  return out.emplace(kind + ' ' + line.substr(13), static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16))).second;
}

std::string describe(const std::string& key) {  // "att step" -> "attribute 'step'"
  return (key.compare(0, 3, "att") == 0 ? "attribute '" : "dataset '") + key.substr(4) + "'";
}

}  // namespace

std::string dotted_to_h5_path(const std::string& dotted) {
  std::string p = dotted;
  std::replace(p.begin(), p.end(), '.', '/');
  return p;
}

std::int64_t hdf5_open_objects() { return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); }

H5File::H5File(const std::string& path, Mode mode)
    : path_(path), mode_(mode), uncaught_(std::uncaught_exceptions()) {
  if (mode == Mode::read)
    open_for_reading();
  else
    create_for_writing();
}

void H5File::open_for_reading() {
  Handle fapl{H5Pcreate(H5P_FILE_ACCESS), H5Pclose};
  XSEQ_CHECK(fapl.id >= 0 && H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG) >= 0,
             "HDF5: cannot create a property list (", hdf5_reason(), ")");
  file_ = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, fapl.id);
  XSEQ_CHECK(file_ >= 0, "HDF5: cannot open '", path_, "': not a readable HDF5 file (missing, truncated or another format: ",
             hdf5_reason(), ")");
  try {
    load_checksums();
  } catch (...) {
    discard();
    throw;
  }
}

void H5File::create_for_writing() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  const int err = errno;
  XSEQ_CHECK(fd_ >= 0, "cannot create '", path_, "': ", std::strerror(err));
  struct stat st {};
  remove_on_failure_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);  // never unlink /dev/full & co.
  try {
    image_ = std::make_unique<H5MemoryImage>();
    Handle fapl = write_access(image_.get());
    file_ = H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id);
    XSEQ_CHECK(file_ >= 0, "HDF5: cannot create '", path_, "' (", hdf5_reason(), ")");
  } catch (...) {
    discard();
    throw;
  }
}

H5File::~H5File() {
  if (mode_ == Mode::truncate && std::uncaught_exceptions() == uncaught_) {
    try {
      close();
    } catch (const std::exception&) {
      // close() has deleted the file; callers that care call close() themselves.
    }
  }
  discard();
}

void H5File::discard() noexcept {
  if (file_ >= 0 && H5Fclose(file_) < 0) (void)image_.release();  // HDF5 may still write into it at exit
  file_ = -1;
  image_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (remove_on_failure_) ::unlink(path_.c_str());
  remove_on_failure_ = false;
}

void H5File::close() {
  if (mode_ == Mode::read) {
    const hid_t file = file_;
    file_ = -1;
    XSEQ_CHECK(file < 0 || H5Fclose(file) >= 0, "HDF5: cannot close '", path_, "' (", hdf5_reason(), ")");
    return;
  }
  if (file_ < 0) return;
  try {
    finish_writing();
  } catch (...) {
    discard();
    throw;
  }
}

void H5File::finish_writing() {
  std::string list;
  char line[16];
  for (const auto& [key, crc] : checksums_) {
    std::snprintf(line, sizeof line, " %08x ", static_cast<unsigned>(crc));
    list += key.substr(0, 3) + line + key.substr(4) + "\n";
  }
  write_attribute(kChecksumAttribute, list);
  XSEQ_CHECK(H5Fflush(file_, H5F_SCOPE_GLOBAL) >= 0, "HDF5: cannot flush '", path_, "' (", hdf5_reason(), ")");
  const ssize_t size = H5Fget_file_image(file_, nullptr, 0);  // the end of the used space
  XSEQ_CHECK(size > 0, "HDF5: cannot size '", path_, "' (", hdf5_reason(), ")");
  const hid_t file = file_;
  file_ = -1;
  if (H5Fclose(file) < 0) {
    const std::string why = hdf5_reason();
    (void)image_.release();
    XSEQ_CHECK(false, "HDF5: cannot close '", path_, "' (", why, ")");
  }
  XSEQ_CHECK(image_->data, "HDF5: '", path_, "': the in-memory file was not handed back");
  write_fully(fd_, static_cast<const char*>(image_->data), std::min<std::size_t>(size, image_->capacity), path_);
  int err = ::fsync(fd_) == 0 ? 0 : errno;
  XSEQ_CHECK(err == 0 || err == EINVAL, "cannot write '", path_, "': fsync failed: ", std::strerror(err));
  const int fd = fd_;
  fd_ = -1;
  err = ::close(fd) == 0 ? 0 : errno;
  XSEQ_CHECK(err == 0, "cannot write '", path_, "': close failed: ", std::strerror(err));
  image_.reset();
  remove_on_failure_ = false;
}

bool H5File::has(const std::string& name) const {
  // H5Lexists needs every intermediate group to exist, so walk the path.
  std::size_t pos = 0;
  while (true) {
    pos = name.find('/', pos + 1);
    const std::string prefix = name.substr(0, pos);
    if (H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

Tensor H5File::read(const std::string& name) const {
  XSEQ_CHECK(has(name), "HDF5: '", path_, "' has no dataset '", name, "'");
  Handle ds{H5Dopen2(file_, name.c_str(), H5P_DEFAULT), H5Dclose};
  XSEQ_CHECK(ds.id >= 0, "HDF5: '", path_, "': '", name, "' is not a readable dataset (", hdf5_reason(), ")");
  Handle space{H5Dget_space(ds.id), H5Sclose};
  const int rank = space.id >= 0 ? H5Sget_simple_extent_ndims(space.id) : -1;
  XSEQ_CHECK(rank >= 0 && rank <= Shape::kMaxDims, "HDF5: '", path_, "': dataset '", name, "' has rank ", rank,
             " (at most ", Shape::kMaxDims, " supported)");
  hsize_t dims[Shape::kMaxDims];
  XSEQ_CHECK(H5Sget_simple_extent_dims(space.id, dims, nullptr) == rank, "HDF5: '", path_, "': cannot read the shape of '",
             name, "' (", hdf5_reason(), ")");
  Shape shape;
  for (int d = 0; d < rank; ++d) shape.push_back(static_cast<std::int64_t>(dims[d]));
  Tensor t(shape);
  if (t.numel() > 0 && H5Dread(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) < 0) {
    const std::string why = hdf5_reason();
    XSEQ_CHECK(why != "checksum mismatch", "HDF5 file '", path_, "': dataset '", name, "' is corrupt (checksum mismatch)");
    XSEQ_CHECK(false, "HDF5: cannot read dataset '", name, "' of '", path_, "' as float32 (", why, ")");
  }
  verify_checksum("f32 " + name, t.data(), static_cast<std::size_t>(t.numel()) * sizeof(float));
  return t;
}

void H5File::write(const std::string& name, const Tensor& value) {
  XSEQ_CHECK(value.defined(), "HDF5: writing '", name, "' to '", path_, "': the tensor is undefined");
  XSEQ_CHECK(name.find('\n') == std::string::npos, "HDF5: dataset name '", name, "' contains a newline");
  Handle lcpl = intermediate_groups();
  hsize_t dims[Shape::kMaxDims];
  for (int d = 0; d < value.ndim(); ++d) dims[d] = static_cast<hsize_t>(value.dim(d));
  Handle space{value.ndim() == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(value.ndim(), dims, nullptr), H5Sclose};
  Handle dcpl = fletcher32_chunks(value);
  Handle ds{H5Dcreate2(file_, name.c_str(), H5T_IEEE_F32LE, space.id, lcpl.id, dcpl.id, H5P_DEFAULT), H5Dclose};
  XSEQ_CHECK(ds.id >= 0, "HDF5: cannot create dataset '", name, "' in '", path_, "' (does it exist already? ",
             hdf5_reason(), ")");
  XSEQ_CHECK(H5Dwrite(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()) >= 0 && ds.release() >= 0,
             "HDF5: cannot write dataset '", name, "' to '", path_, "' (", hdf5_reason(), ")");
  checksums_["f32 " + name] = crc32(value.data(), static_cast<std::size_t>(value.numel()) * sizeof(float));
}

// A fixed-length string in the dataset's own storage: variable-length strings would
// live in HDF5's global heap, which has no checksum and crashes HDF5 when corrupt.
void H5File::write_string(const std::string& name, const std::string& value) {
  XSEQ_CHECK(name.find('\n') == std::string::npos, "HDF5: dataset name '", name, "' contains a newline");
  Handle lcpl = intermediate_groups();
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  XSEQ_CHECK(H5Tset_size(type.id, std::max<std::size_t>(value.size(), 1)) >= 0 &&
                 H5Tset_strpad(type.id, H5T_STR_NULLPAD) >= 0 && H5Tset_cset(type.id, H5T_CSET_UTF8) >= 0,
             "HDF5: cannot make a string type (", hdf5_reason(), ")");
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle ds{H5Dcreate2(file_, name.c_str(), type.id, space.id, lcpl.id, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
  XSEQ_CHECK(ds.id >= 0, "HDF5: cannot create string dataset '", name, "' in '", path_, "' (", hdf5_reason(), ")");
  XSEQ_CHECK(H5Dwrite(ds.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.c_str()) >= 0 && ds.release() >= 0,
             "HDF5: cannot write '", name, "' to '", path_, "' (", hdf5_reason(), ")");
  const std::string stored = value.substr(0, value.find('\0'));  // what read_string() will return
  checksums_["str " + name] = crc32(stored.data(), stored.size());
}

std::string H5File::read_string(const std::string& name) const {
  XSEQ_CHECK(has(name), "HDF5: '", path_, "' has no dataset '", name, "'");
  Handle ds{H5Dopen2(file_, name.c_str(), H5P_DEFAULT), H5Dclose};
  XSEQ_CHECK(ds.id >= 0, "HDF5: '", path_, "': '", name, "' is not a readable dataset (", hdf5_reason(), ")");
  Handle type{H5Dget_type(ds.id), H5Tclose};
  XSEQ_CHECK(type.id >= 0 && H5Tget_class(type.id) == H5T_STRING, "HDF5: '", path_, "': '", name, "' is not a string");
  std::string value;
  if (H5Tis_variable_str(type.id) > 0) {
    value = read_variable_string(ds.id, type.id, name);  // files from before format 2
  } else {
    value.assign(H5Tget_size(type.id), '\0');
    XSEQ_CHECK(!value.empty() && H5Dread(ds.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()) >= 0,
               "HDF5: cannot read string '", name, "' from '", path_, "' (", hdf5_reason(), ")");
    value.resize(std::min(value.size(), value.find('\0')));
  }
  verify_checksum("str " + name, value.data(), value.size());
  return value;
}

std::string H5File::read_variable_string(std::int64_t dataset, std::int64_t type, const std::string& name) const {
  Handle mem{H5Tcopy(H5T_C_S1), H5Tclose};
  XSEQ_CHECK(H5Tset_size(mem.id, H5T_VARIABLE) >= 0 && H5Tset_cset(mem.id, H5Tget_cset(type)) >= 0,
             "HDF5: cannot make a string type (", hdf5_reason(), ")");
  char* data = nullptr;
  XSEQ_CHECK(H5Dread(dataset, mem.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, &data) >= 0, "HDF5: cannot read string '", name,
             "' from '", path_, "' (", hdf5_reason(), ")");
  std::string value = data ? data : "";
  H5free_memory(data);
  return value;
}

// Bytes (a SentencePiece model) as a 1-D dataset of opaque 1-byte elements
// tagged "xseq bytes": stored exactly, NULs included (h5py reads it as a numpy
// array of void bytes; .tobytes() gives them back).
void H5File::write_bytes(const std::string& name, const std::string& value) {
  XSEQ_CHECK(name.find('\n') == std::string::npos, "HDF5: dataset name '", name, "' contains a newline");
  Handle lcpl = intermediate_groups();
  Handle type{H5Tcreate(H5T_OPAQUE, 1), H5Tclose};
  XSEQ_CHECK(type.id >= 0 && H5Tset_tag(type.id, kBytesTag) >= 0, "HDF5: cannot make an opaque type (",
             hdf5_reason(), ")");
  const hsize_t n = value.size();
  Handle space{H5Screate_simple(1, &n, nullptr), H5Sclose};
  Handle ds{H5Dcreate2(file_, name.c_str(), type.id, space.id, lcpl.id, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
  XSEQ_CHECK(ds.id >= 0, "HDF5: cannot create bytes dataset '", name, "' in '", path_, "' (", hdf5_reason(), ")");
  XSEQ_CHECK((n == 0 || H5Dwrite(ds.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()) >= 0) &&
                 ds.release() >= 0,
             "HDF5: cannot write '", name, "' to '", path_, "' (", hdf5_reason(), ")");
  checksums_["bin " + name] = crc32(value.data(), value.size());
}

std::string H5File::read_bytes(const std::string& name) const {
  XSEQ_CHECK(has(name), "HDF5: '", path_, "' has no dataset '", name, "'");
  Handle ds{H5Dopen2(file_, name.c_str(), H5P_DEFAULT), H5Dclose};
  XSEQ_CHECK(ds.id >= 0, "HDF5: '", path_, "': '", name, "' is not a readable dataset (", hdf5_reason(), ")");
  Handle type{H5Dget_type(ds.id), H5Tclose};
  Handle space{H5Dget_space(ds.id), H5Sclose};
  XSEQ_CHECK(type.id >= 0 && H5Tget_class(type.id) == H5T_OPAQUE && H5Tget_size(type.id) == 1 && space.id >= 0 &&
                 H5Sget_simple_extent_ndims(space.id) == 1,
             "HDF5: '", path_, "': '", name, "' is not a bytes dataset");
  const hssize_t n = H5Sget_simple_extent_npoints(space.id);
  XSEQ_CHECK(n >= 0 && n < (hssize_t(1) << 32), "HDF5: '", path_, "': '", name, "' has an impossible size");
  std::string value(static_cast<std::size_t>(n), '\0');
  XSEQ_CHECK(n == 0 || H5Dread(ds.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()) >= 0,
             "HDF5: cannot read '", name, "' from '", path_, "' (", hdf5_reason(), ")");
  verify_checksum("bin " + name, value.data(), value.size());
  return value;
}

std::vector<std::string> H5File::datasets(const std::string& group) const {
  std::vector<std::string> names;
  const std::string root = group.empty() ? "/" : group;
  XSEQ_CHECK(group.empty() || has(group), "HDF5: '", path_, "' has no group '", group, "'");
  Handle g{H5Oopen(file_, root.c_str(), H5P_DEFAULT), H5Oclose};
  XSEQ_CHECK(g.id >= 0 && H5Ovisit2(g.id, H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &names, H5O_INFO_BASIC) >= 0,
             "HDF5: cannot list the datasets of '", path_, "' (", hdf5_reason(), ")");
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> H5File::attributes() const {
  std::vector<std::string> keys;
  XSEQ_CHECK(H5Aiterate2(file_, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attribute, &keys) >= 0,
             "HDF5: cannot list the attributes of '", path_, "' (", hdf5_reason(), ")");
  std::sort(keys.begin(), keys.end());
  return keys;
}

void H5File::set_attribute(const std::string& key, const std::string& value) {
  XSEQ_CHECK(key != kChecksumAttribute && key.find('\n') == std::string::npos, "HDF5: attribute name '", key,
             "' is reserved or contains a newline");
  write_attribute(key, value);
  const std::string stored = value.substr(0, value.find('\0'));  // what attribute() will return
  checksums_["att " + key] = crc32(stored.data(), stored.size());
}

void H5File::write_attribute(const std::string& key, const std::string& value) {
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  XSEQ_CHECK(H5Tset_size(type.id, std::max<std::size_t>(value.size(), 1)) >= 0, "HDF5: cannot make a string type (",
             hdf5_reason(), ")");
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  const htri_t exists = H5Aexists(file_, key.c_str());
  XSEQ_CHECK(exists == 0 || (exists > 0 && H5Adelete(file_, key.c_str()) >= 0), "HDF5: cannot replace attribute '", key,
             "' in '", path_, "' (", hdf5_reason(), ")");
  Handle attr{H5Acreate2(file_, key.c_str(), type.id, space.id, H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  XSEQ_CHECK(attr.id >= 0 && H5Awrite(attr.id, type.id, value.c_str()) >= 0 && attr.release() >= 0,
             "HDF5: cannot write attribute '", key, "' to '", path_, "' (", hdf5_reason(), ")");
}

std::string H5File::attribute(const std::string& key) const {
  const htri_t exists = H5Aexists(file_, key.c_str());
  XSEQ_CHECK(exists >= 0, "HDF5: cannot look up attribute '", key, "' in '", path_, "' (", hdf5_reason(), ")");
  if (exists == 0) return "";
  std::string value = read_attribute(key);
  verify_checksum("att " + key, value.data(), value.size());
  return value;
}

std::string H5File::read_attribute(const std::string& key) const {
  Handle attr{H5Aopen(file_, key.c_str(), H5P_DEFAULT), H5Aclose};
  Handle type{attr.id >= 0 ? H5Aget_type(attr.id) : -1, H5Tclose};
  const std::size_t size = type.id >= 0 ? H5Tget_size(type.id) : 0;
  std::string value(size, '\0');
  XSEQ_CHECK(size > 0 && H5Tget_class(type.id) == H5T_STRING && H5Tis_variable_str(type.id) == 0 &&
                 H5Aread(attr.id, type.id, value.data()) >= 0,
             "HDF5: cannot read attribute '", key, "' of '", path_, "' as a string (", hdf5_reason(), ")");
  value.resize(std::min(value.size(), value.find('\0')));
  return value;
}

void H5File::load_checksums() {
  const htri_t exists = H5Aexists(file_, kChecksumAttribute);
  XSEQ_CHECK(exists >= 0, "HDF5: cannot read the attributes of '", path_, "' (", hdf5_reason(), ")");
  if (exists == 0) return;
  std::istringstream in(read_attribute(kChecksumAttribute));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    XSEQ_CHECK(parse_checksum_line(line, checksums_), "HDF5 file '", path_, "' is corrupt: line ", n,
               " of its checksum list is malformed");
  checksummed_ = true;
  check_listing();
}

// Exactly the listed datasets and attributes must be there: a corrupted name or a
// vanished object is an error here, not a confusing "missing parameter" later.
void H5File::check_listing() const {
  std::set<std::string> listed, present;
  for (const auto& entry : checksums_) listed.insert(describe(entry.first));
  for (const auto& name : datasets()) present.insert(describe("f32 " + name));
  for (const auto& key : attributes()) present.insert(describe("att " + key));
  for (const auto& p : present)
    XSEQ_CHECK(listed.count(p), "HDF5 file '", path_, "' is corrupt: its ", p, " is not in its checksum list");
  for (const auto& l : listed)
    XSEQ_CHECK(present.count(l), "HDF5 file '", path_, "' is corrupt: its checksum list names ", l, ", which is missing");
}

void H5File::verify_checksum(const std::string& key, const void* data, std::size_t bytes) const {
  if (!checksummed_) return;
  const auto it = checksums_.find(key);
  XSEQ_CHECK(it != checksums_.end(), "HDF5 file '", path_, "': ", describe(key), " has no checksum (corrupt?)");
  XSEQ_CHECK(it->second == crc32(data, bytes), "HDF5 file '", path_, "': ", describe(key),
             " is corrupt (checksum mismatch)");
}

void H5File::verify() const {
  XSEQ_CHECK(checksummed_, "HDF5 file '", path_, "' has no checksum list to verify");
  for (const auto& entry : checksums_) {
    const std::string kind = entry.first.substr(0, 3), name = entry.first.substr(4);
    if (kind == "f32")
      read(name);
    else if (kind == "str")
      read_string(name);
    else if (kind == "bin")
      read_bytes(name);
    else
      attribute(name);
  }
}

}  // namespace xseq
