#!/usr/bin/env bash
# Runs GoogleTest binary BINARY (tests matching FILTER) on a CPU with protection keys: first here, where
# the tests build what they need and check what needs no PKU, then inside a PKU guest (scripts/pku-vm.sh),
# where they run for real. Passes only if the guest ran every selected test without a PKU skip.
#
#   tests/pku_guest.sh build/tests/mpk_isolation_e2e_test '*'
# Exit 77 (ctest: skipped) where this machine has PKU itself, or where no guest can be started.
set -uo pipefail
cd "$(dirname "$0")/.."
bin="$1"
filter="$2"
# A filter that selects nothing would make the guest report "[  PASSED  ] 0 tests": refuse it everywhere,
# so a renamed test cannot silently drop out of the guest runs.
selected=$("$bin" --gtest_list_tests --gtest_filter="$filter" | grep -c '^  ')
if [ "$selected" -eq 0 ]; then
  echo "pku_guest: the filter '$filter' selects no test of $bin"
  exit 1
fi
if grep -qw pku /proc/cpuinfo && grep -qw ospke /proc/cpuinfo; then
  echo "skipped: this machine has PKU, so these tests ran natively"
  exit 77
fi
if ! scripts/pku-vm.sh --check; then
  echo "skipped: no PKU guest can be started here (see above)"
  exit 77
fi
echo "== on this machine (no PKU): builds and static checks"
GTEST_COLOR=no "$bin" --gtest_filter="$filter" || exit 1
echo "== in a PKU guest (QEMU TCG, -cpu max)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
GTEST_COLOR=no scripts/pku-vm.sh -- "$bin" --gtest_filter="$filter" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if grep -q "PKU not available" "$log"; then
  echo "pku_guest: a test found no PKU inside the guest"
  exit 1
fi
if ! grep -q "^\[  PASSED  \]" "$log"; then
  echo "pku_guest: the guest did not report passing tests (status $rc)"
  exit 1
fi
exit "$rc"
