#!/usr/bin/env bash
#  The test command: installs what is missing, configures, builds and runs
#  every test suite. Extra arguments go to `meson setup` (e.g. -Dwerror=true).
#  BUILD_DIR chooses the build folder (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
build="${BUILD_DIR:-build}"
if [ -d "$build" ]; then
    meson setup --reconfigure "$build" "$@" >/dev/null
else
    meson setup "$build" "$@" >/dev/null
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2 ${MESON_TEST_ARGS:-}
