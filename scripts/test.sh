#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite on a fresh Debian 12 machine: installs what is missing,
# builds the release binary, the static binary (scripts/static.sh) and an
# ASan+UBSan build, runs the unit tests under
# the sanitizers and then every test (unit + integration against real
# docker-registry, nginx, skopeo and containerd on loopback) on the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
echo "== build (release, -Werror)"
scripts/build.sh build
echo "== static binary (musl; dependencies from Debian's sources, cached outside the clone)"
scripts/static.sh
echo "== build (ASan + UBSan)"
scripts/build.sh build-asan -DIMGPULL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== sanitizer build: unit tests and the basic pull"
(cd build-asan && ctest --output-on-failure -L 'unit|asan' -j2)
echo "== release build: all tests"
(cd build && ctest --output-on-failure -j2)
