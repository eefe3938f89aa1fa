#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets in test/fuzz with
# clang (ASan + UBSan) and runs each for SECONDS (default 60), starting from the
# committed seeds in test/fuzz/corpus/; FUZZ_MERGE=1 adds to those seeds what
# covers something new. Not part of CI (ctest replays the seeds): it needs clang
# and runs as long as you let it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
scripts/deps.sh
if ! command -v clang >/dev/null; then
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get install -y -qq clang libclang-rt-dev >/dev/null
fi
CC=clang cmake -S . -B build-fuzz -DIMGPULL_FUZZ=ON -DIMGPULL_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
for f in build-fuzz/fuzz_*; do
	name=$(basename "$f")
	seeds="test/fuzz/corpus/${name#fuzz_}"
	mkdir -p "build-fuzz/corpus/$name" "$seeds"
	echo "== $name (${secs}s)"
	# New inputs go to build-fuzz/corpus; the committed seeds are read too.
	"$f" -max_total_time="$secs" -print_final_stats=1 "build-fuzz/corpus/$name" "$seeds" 2>&1 |
		grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' || true
	if [ "${FUZZ_MERGE:-0}" = 1 ]; then
		# Adds to the seeds what covers something new (ctest replays them).
		"$f" -merge=1 -max_len=4096 "$seeds" "build-fuzz/corpus/$name" >/dev/null 2>&1
		echo "   seeds: $(ls "$seeds" | wc -l) in $seeds"
	fi
done
