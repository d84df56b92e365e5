#!/usr/bin/env bash
# Configures and builds into build/ (or $1) with Ninja. Extra args go to cmake.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$src/build}; shift || true
cmake -S "$src" -B "$dir" -G Ninja "$@" >/dev/null
ninja -C "$dir" >/dev/null
