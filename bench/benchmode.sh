#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# imgpull's own benchmark mode (imgpull bench) on the image of bench/bench.sh,
# in the capped setting (307 to an nginx store capped at --rate per
# connection, like S3 behind ECR) and on loopback (the registry serves blobs):
#
#   bench/benchmode.sh [--runs N] [--layers SIZES] [--rate RATE] [--out DIR]
#
# Prints imgpull bench's tables: into a temporary layout, with --discard, and
# a sweep of --connections 4,8,16,32 (capped). With --out DIR, also writes
# there the capped run's timeline (timeline.svg), its JSON report
# (capped.json) and the tables (tables.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
args=() outdir=""
while (($#)); do
	case $1 in
	--out) outdir=$2; shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
bench_setup benchmode "${args[@]}"
[[ -z "$outdir" ]] || mkdir -p "$outdir"
outdir=${outdir:+$(cd "$outdir" && pwd)}
tables="$T_WORK/tables.txt"
: >"$tables"

capped="$REG_CAPPED_ADDR/bench/big:1"
direct="$REG_DIRECT_ADDR/bench/big:1"
bench() { # TITLE ARGS...: runs imgpull bench, its table to stdout and $tables
	local title=$1
	shift
	printf '\n### %s\n$ imgpull bench %s\n' "$title" "$*" | tee -a "$tables"
	"$IMGPULL" bench --dest "$T_WORK" --quiet "$@" | tee -a "$tables"
}
bench "capped store ($rate per connection), into a layout" --runs "$runs" --plain-http "$REG_CAPPED_ADDR" \
	--timeline "$T_WORK/timeline.svg" --metrics "$T_WORK/capped.prom" "$capped"
"$IMGPULL" bench --dest "$T_WORK" --quiet --json --runs 1 --plain-http "$REG_CAPPED_ADDR" "$capped" \
	>"$T_WORK/capped.json"
bench "capped store, --discard (network alone)" --runs "$runs" --discard --plain-http "$REG_CAPPED_ADDR" "$capped"
bench "capped store, sweep of connections" --runs 1 --discard --sweep connections=4,8,16,32 \
	--plain-http "$REG_CAPPED_ADDR" "$capped"
bench "loopback (the registry serves blobs), into a layout" --runs "$runs" --plain-http "$REG_DIRECT_ADDR" "$direct"
printf '\nImage: %s bytes (layers %s); blob store cap %s per connection; %s, %s cores.\n' \
	"$bytes" "$layers" "$rate" "$(date -u +%Y-%m-%d)" "$(nproc)" | tee -a "$tables"
if [[ -n "$outdir" ]]; then
	cp "$T_WORK/timeline.svg" "$T_WORK/capped.json" "$T_WORK/capped.prom" "$tables" "$outdir/"
	echo "written: $outdir/{timeline.svg,capped.json,capped.prom,tables.txt}" >&2
fi
