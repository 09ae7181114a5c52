#include "framework/h5.hpp"

#include <hdf5.h>

#include <algorithm>

namespace xseq {
namespace {

// HDF5 prints its own error stack by default; xseq reports errors itself.
struct SilenceHdf5 {
  SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const SilenceHdf5 silence_hdf5;

struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Handle() {
    if (id >= 0) close(id);
  }
};

herr_t collect_dataset(hid_t, const char* name, const H5O_info_t* info, void* out) {
  if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

}  // namespace

std::string dotted_to_h5_path(const std::string& dotted) {
  std::string p = dotted;
  std::replace(p.begin(), p.end(), '.', '/');
  return p;
}

H5File::H5File(const std::string& path, Mode mode) : path_(path) {
  file_ = mode == Mode::read ? H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)
                             : H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  XSEQ_CHECK(file_ >= 0, "HDF5: cannot ", (mode == Mode::read ? "open" : "create"), " '", path, "'",
             (mode == Mode::read ? " (missing, unreadable or not an HDF5 file)" : ""));
}

H5File::~H5File() {
  if (file_ >= 0) H5Fclose(file_);
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
  XSEQ_CHECK(ds.id >= 0, "HDF5: '", path_, "': '", name, "' is not a dataset");
  Handle space{H5Dget_space(ds.id), H5Sclose};
  const int rank = H5Sget_simple_extent_ndims(space.id);
  XSEQ_CHECK(rank >= 0 && rank <= Shape::kMaxDims, "HDF5: '", path_, "': dataset '", name, "' has rank ", rank,
             " (at most ", Shape::kMaxDims, " supported)");
  hsize_t dims[Shape::kMaxDims];
  H5Sget_simple_extent_dims(space.id, dims, nullptr);
  Shape shape;
  for (int d = 0; d < rank; ++d) shape.push_back(static_cast<std::int64_t>(dims[d]));
  Tensor t(shape);
  if (t.numel() > 0)
    XSEQ_CHECK(H5Dread(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) >= 0, "HDF5: '", path_,
               "': cannot read dataset '", name, "' as float32");
  return t;
}

void H5File::write(const std::string& name, const Tensor& value) {
  XSEQ_CHECK(value.defined(), "HDF5: writing '", name, "' to '", path_, "': the tensor is undefined");
  Handle lcpl{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  H5Pset_create_intermediate_group(lcpl.id, 1);
  hsize_t dims[Shape::kMaxDims];
  for (int d = 0; d < value.ndim(); ++d) dims[d] = static_cast<hsize_t>(value.dim(d));
  Handle space{value.ndim() == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(value.ndim(), dims, nullptr), H5Sclose};
  Handle ds{H5Dcreate2(file_, name.c_str(), H5T_IEEE_F32LE, space.id, lcpl.id, H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose};
  XSEQ_CHECK(ds.id >= 0, "HDF5: cannot create dataset '", name, "' in '", path_, "' (does it exist already?)");
  XSEQ_CHECK(H5Dwrite(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()) >= 0,
             "HDF5: cannot write dataset '", name, "' to '", path_, "'");
}

void H5File::write_string(const std::string& name, const std::string& value) {
  Handle lcpl{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  H5Pset_create_intermediate_group(lcpl.id, 1);
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, H5T_VARIABLE);
  H5Tset_cset(type.id, H5T_CSET_UTF8);
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle ds{H5Dcreate2(file_, name.c_str(), type.id, space.id, lcpl.id, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
  XSEQ_CHECK(ds.id >= 0, "HDF5: cannot create string dataset '", name, "' in '", path_, "'");
  const char* data = value.c_str();
  XSEQ_CHECK(H5Dwrite(ds.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, &data) >= 0, "HDF5: cannot write '", name,
             "' to '", path_, "'");
}

std::string H5File::read_string(const std::string& name) const {
  XSEQ_CHECK(has(name), "HDF5: '", path_, "' has no dataset '", name, "'");
  Handle ds{H5Dopen2(file_, name.c_str(), H5P_DEFAULT), H5Dclose};
  Handle type{H5Dget_type(ds.id), H5Tclose};
  XSEQ_CHECK(H5Tget_class(type.id) == H5T_STRING && H5Tis_variable_str(type.id) > 0, "HDF5: '", path_, "': '", name,
             "' is not a variable-length string");
  Handle mem{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(mem.id, H5T_VARIABLE);
  H5Tset_cset(mem.id, H5Tget_cset(type.id));
  char* data = nullptr;
  XSEQ_CHECK(H5Dread(ds.id, mem.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, &data) >= 0, "HDF5: cannot read string '", name,
             "' from '", path_, "'");
  std::string value = data ? data : "";
  H5free_memory(data);
  return value;
}

void H5File::flush() { H5Fflush(file_, H5F_SCOPE_GLOBAL); }

std::vector<std::string> H5File::datasets(const std::string& group) const {
  std::vector<std::string> names;
  const std::string root = group.empty() ? "/" : group;
  XSEQ_CHECK(group.empty() || has(group), "HDF5: '", path_, "' has no group '", group, "'");
  Handle g{H5Oopen(file_, root.c_str(), H5P_DEFAULT), H5Oclose};
  H5Ovisit2(g.id, H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &names, H5O_INFO_BASIC);
  std::sort(names.begin(), names.end());
  return names;
}

void H5File::set_attribute(const std::string& key, const std::string& value) {
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, std::max<std::size_t>(value.size(), 1));
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  if (H5Aexists(file_, key.c_str()) > 0) H5Adelete(file_, key.c_str());
  Handle attr{H5Acreate2(file_, key.c_str(), type.id, space.id, H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  XSEQ_CHECK(attr.id >= 0 && H5Awrite(attr.id, type.id, value.c_str()) >= 0, "HDF5: cannot write attribute '",
             key, "' to '", path_, "'");
}

std::string H5File::attribute(const std::string& key) const {
  if (H5Aexists(file_, key.c_str()) <= 0) return "";
  Handle attr{H5Aopen(file_, key.c_str(), H5P_DEFAULT), H5Aclose};
  Handle type{H5Aget_type(attr.id), H5Tclose};
  const std::size_t size = H5Tget_size(type.id);
  std::string value(size, '\0');
  H5Aread(attr.id, type.id, value.data());
  value.resize(std::min(value.size(), value.find('\0')));
  return value;
}

}  // namespace xseq
