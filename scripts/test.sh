#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds three ways and runs
#   1. unit + integration tests (gcc, warnings are errors),
#   2. unit tests under ASan+UBSan (clang),
#   3. every fuzz target for a bounded time (clang, libFuzzer).
# Must run as root (integration tests create network namespaces).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then echo "test.sh: run as root (the tests create network namespaces): sudo $0" >&2; exit 2; fi
"$src/scripts/setup.sh"
jobs=$(nproc)
log=$(mktemp -d)

echo "== build: release (gcc, -Werror)"
"$src/scripts/build.sh" "$src/build" -DUSTACK_WERROR=ON -DUSTACK_UNIT_TESTS=OFF
echo "== build: asan+ubsan (clang)"
CC=clang CXX=clang++ "$src/scripts/build.sh" "$src/build-asan" -DUSTACK_SANITIZE=ON -DUSTACK_WERROR=ON
echo "== build: fuzz (clang)"
CC=clang CXX=clang++ "$src/scripts/build.sh" "$src/build-fuzz" -DUSTACK_FUZZ=ON -DUSTACK_UNIT_TESTS=OFF -DUSTACK_FUZZ_SECONDS=${USTACK_FUZZ_SECONDS:-20}

# One ctest run over all three builds, so the run ends with one summary line:
# unit tests (sanitized), fuzz targets, integration tests (serial: shared CPU).
cat > "$log/CTestTestfile.cmake" <<CT
subdirs("$src/build-asan" "$src/build-fuzz" "$src/build")
CT
cd "$log"
exec ctest --output-on-failure -j "$jobs" --timeout 900 "$@"
