#!/usr/bin/env bash
# Installs what is missing on a Debian 12 machine, builds Flex, and (with --demo) builds and runs the
# main image. Safe to run again: it installs and rebuilds only what is missing or changed.
#
#   scripts/bootstrap.sh           install + build
#   scripts/bootstrap.sh --demo    install + build + build and run the main image (scripts/redis-demo.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  clang-19 lld-19 libclang-19-dev libclang-cpp19-dev llvm-19-dev llvm-19-tools libclang-rt-19-dev
  cmake ninja-build ccache pkg-config python3 libelf-dev
  libyaml-cpp-dev libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  coccinelle graphviz libseccomp-dev redis-tools redis-server
  chromium  # the pages people read (flexbuild report --html, the explorer's report) are checked in it
  qemu-system-x86 linux-image-amd64 busybox-static  # a PKU guest for the mpk tests (scripts/pku-vm.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build build

if [ "${1:-}" = "--demo" ]; then
  echo
  echo "bootstrap: building and running the Redis image in three compartments"
  scripts/redis-demo.sh
fi
