#!/usr/bin/env bash
# Configures and builds into build/ (or $1) with Ninja. Extra args go to cmake.
# Quiet when it works; prints the compiler's complaints when it does not.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$src/build}; shift || true
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! { cmake -S "$src" -B "$dir" -G Ninja "$@" && ninja -C "$dir"; } >"$out" 2>&1; then
  grep -E -A12 'error|FAILED|Error' "$out" | head -80 >&2
  echo "build.sh: build in $dir failed (full log above cut to the errors)" >&2
  exit 1
fi
