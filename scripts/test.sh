#!/usr/bin/env bash
# Runs the whole test suite (every ctest label: unit, gates, transform, libos, redis, explorer, e2e, fuzz)
# after installing and building what is missing. Extra arguments go to ctest, e.g. `-L e2e`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
