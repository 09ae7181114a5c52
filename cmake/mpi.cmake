# Data-parallel training under mpirun (docs/distributed.md). Included from the
# top-level CMakeLists.txt after the libraries and xseq_cli exist.
#
# xseq (framework/distributed.cpp) always has the Communicator interface and its
# single-process implementation. With MPI (XSEQ_MPI,
# on by default when OpenMPI is found), the MPI implementation is a separate
# shared library, libxseq_mpi.so, that xseq loads with dlopen only when mpirun
# started the process: a plain
# `xseq train` neither links nor initialises MPI. -DXSEQ_MPI=OFF builds without it.
# The C API from C++ (no deprecated C++ bindings, no libmpi_cxx).
set(MPI_CXX_SKIP_MPICXX ON)
find_package(MPI COMPONENTS CXX QUIET)
include(GNUInstallDirs)
set(XSEQ_MPI_DEFAULT OFF)
if(MPI_CXX_FOUND)
  set(XSEQ_MPI_DEFAULT ON)
endif()
option(XSEQ_MPI "Build data-parallel training on MPI (libxseq_mpi.so)" ${XSEQ_MPI_DEFAULT})

if(XSEQ_MPI)
  if(NOT MPI_CXX_FOUND)
    message(FATAL_ERROR "XSEQ_MPI is ON but no MPI was found: install libopenmpi-dev "
                        "(scripts/install-deps.sh) or configure with -DXSEQ_MPI=OFF")
  endif()
  add_library(xseq_mpi SHARED ${PROJECT_SOURCE_DIR}/framework/distributed_mpi.cpp)
  target_include_directories(xseq_mpi PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(xseq_mpi PRIVATE MPI::MPI_CXX)
  target_compile_options(xseq_mpi PRIVATE -Wall -Wextra)
  # Built with the program that loads it; found where the build put it, where
  # `cmake --install` puts it, beside the executable, or on the library path
  # ($XSEQ_MPI_LIBRARY overrides).
  add_dependencies(xseq xseq_mpi)
  target_compile_definitions(xseq PRIVATE XSEQ_MPI_LIBRARY="$<TARGET_FILE:xseq_mpi>"
                                                XSEQ_MPI_INSTALLED="${CMAKE_INSTALL_FULL_LIBDIR}/libxseq_mpi.so"
                                                XSEQ_MPIEXEC="${MPIEXEC_EXECUTABLE}")
  install(TARGETS xseq_mpi LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  message(STATUS "xseq: MPI support on (MPI ${MPI_CXX_VERSION}, mpirun: ${MPIEXEC_EXECUTABLE})")
else()
  message(STATUS "xseq: MPI support off")
endif()
