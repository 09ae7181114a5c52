#!/usr/bin/env bash
# Installs every Debian bookworm package xseq needs to build and test.
# Idempotent: packages already present are not reinstalled, and `apt-get update`
# only runs when something is missing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ccache
  libxtensor-dev libxtensor-blas-dev xtl-dev
  libopenblas0-openmp libopenblas-openmp-dev
  libhdf5-dev
  zlib1g-dev   # crc32 of every checkpoint dataset
  libsentencepiece-dev
  libtomlplusplus-dev
  catch2
  libcli11-dev nlohmann-json3-dev   # the command line and JSON
  libopenmpi-dev openmpi-bin   # data-parallel training under mpirun (docs/distributed.md)
  clang libclang-rt-14-dev libomp-14-dev   # libFuzzer harnesses (scripts/fuzz.sh)
  pybind11-dev python3-dev python3-numpy    # the Python package (docs/python.md), for /usr/bin/python3
  python3-pytest python3-h5py               # ... and its tests
  libcpp-httplib-dev wrk                    # xseq serve and its load benchmark (docs/serve.md)
  libdnnl-dev                               # oneDNN 2.6: bf16 and int8 products (docs/precision.md)
  qemu-user                                 # the smoke test on a CPU without AVX (qemu-x86_64 -cpu Nehalem)
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo > /dev/null; then
    echo "install-deps: run as root (or install sudo): apt-get needs root to install packages" >&2
    exit 1
  fi
  SUDO="sudo"
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
