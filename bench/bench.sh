#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Pull-throughput benchmark: imgpull against skopeo, containerd 1.6 (ctr content
# fetch) and containerd 2.2 with multipart fetch (../shared/peers/containerd-2.2,
# `run.sh REF fetch`), same image, same servers, same run; medians of several
# runs, ratios. bench/prefetch.sh compares the node-prefetch path end to end.
#
#   bench/bench.sh [--runs N] [--layers "2G 512M 256M 64M 16M"] [--rate 40m] [--out FILE]
#                  [--baseline BINARY] [--tools "imgpull base skopeo ctr ctd22"]
#
# --baseline adds another imgpull binary (say, a build of the previous commit)
# as the tool "base", taking its turns in the same rounds: a before/after table
# of wall time, CPU seconds per GB and peak RSS. --tools picks the tools (the
# peers' table needs skopeo, ctr and ctd22 among them).
#
# Two scenarios, both on loopback:
#   loopback: docker-registry serves the blobs itself, no cap;
#   capped:   docker-registry answers blob GETs with 307 to an nginx blob store
#             capped at --rate per connection (limit_rate), like S3 behind ECR.
# The image (default: the 2.9 GB one from shared/reference/performance.md) is
# generated and pushed with skopeo. Reports wall-clock medians, imgpull's CPU
# seconds per GB and peak RSS, and the ratios; writes a markdown table to --out.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
baseline="" tools="imgpull skopeo ctr ctd22" rest=()
while (($#)); do
	case $1 in
	--baseline) baseline=$(realpath "$2"); shift 2 ;;
	--tools) tools=$2; shift 2 ;;
	*) rest+=("$1"); shift ;;
	esac
done
[[ -z "$baseline" || " $tools " == *" base "* ]] || tools="imgpull base ${tools#imgpull }"
[[ -z "$baseline" || -x "$baseline" ]] || { echo "bench.sh: --baseline $baseline is not an executable" >&2; exit 2; }
[[ -n "$baseline" || " $tools " != *" base "* ]] || { echo "bench.sh: the tool base needs --baseline" >&2; exit 2; }
bench_usage_extra='[--baseline BINARY] [--tools "imgpull base skopeo ctr ctd22"]'
bench_setup bench "${rest[@]}"
ip_containerd_start

# run_one TOOL ADDR -> "wall user sys maxrss_kb" on stdout
run_one() {
	local tool=$1 addr=$2 dest="$T_WORK/dest" tf="$T_WORK/time.out"
	rm -rf "$dest"
	"${CTR[@]}" images rm "$addr/bench/big:1" >/dev/null 2>&1 || true
	"${CTR[@]}" content ls -q 2>/dev/null | xargs -r "${CTR[@]}" content rm >/dev/null 2>&1 || true
	# containerd deletes blob files only at its next garbage collection and
	# reuses a file still on disk without fetching it: remove them outright.
	rm -rf "$T_WORK"/containerd/root/io.containerd.content.v1.content/blobs/sha256/* "$T_WORK"/containerd/root/io.containerd.content.v1.content/ingest/*
	sync
	if [[ $tool == ctd22 ]]; then
		# The peer's runner starts its own daemon on a fresh root and reports the
		# daemon's wall time, CPU and peak RSS for the one transfer.
		local w c r
		read -r w c r < <(bench_ctd22 "$addr/bench/big:1" fetch)
		echo "$w $c 0 $r"
		return
	fi
	case $tool in
	imgpull) cmd=("$IMGPULL" pull --dest "$dest" --plain-http "$addr" --progress none -q "$addr/bench/big:1") ;;
	base) cmd=("$baseline" pull --dest "$dest" --plain-http "$addr" --progress none -q "$addr/bench/big:1") ;;
	skopeo) cmd=(skopeo copy --quiet --src-tls-verify=false "docker://$addr/bench/big:1" "oci:$dest:big") ;;
	ctr) cmd=("${CTR[@]}" content fetch --plain-http "$addr/bench/big:1") ;;
	esac
	/usr/bin/time -f '%e %U %S %M' -o "$tf" "${cmd[@]}" >"$T_WORK/run.log" 2>&1 ||
		{ cat "$T_WORK/run.log" >&2; t_fail "$tool failed"; }
	cat "$tf"
}


# One untimed pull first: in a fresh VM the first few GB of page cache are
# memory the host has not backed yet, and whichever tool ran first would pay.
run_one imgpull "$REG_DIRECT_ADDR" >/dev/null

declare -A walls cpus rsss wall cpu rss
for scenario in loopback capped; do
	addr=$REG_DIRECT_ADDR
	[[ $scenario == capped ]] && addr=$REG_CAPPED_ADDR
	# Tools take turns within each round, so that a slow spell of the machine
	# (page cache, writeback, a noisy neighbour) does not land on one of them.
	for i in $(seq 1 "$runs"); do
		for tool in $tools; do
			read -r w u s m < <(run_one "$tool" "$addr")
			t_log "$scenario $tool run $i: ${w}s wall, ${u}s user, ${s}s sys, ${m} KB"
			walls[$scenario.$tool]+="$w "
			cpus[$scenario.$tool]+="$(echo "$u + $s" | bc -l) "
			rsss[$scenario.$tool]+="$m "
		done
	done
	for tool in $tools; do
		wall[$scenario.$tool]=$(printf '%s\n' ${walls[$scenario.$tool]} | median)
		cpu[$scenario.$tool]=$(printf '%s\n' ${cpus[$scenario.$tool]} | median)
		rss[$scenario.$tool]=$(printf '%s\n' ${rsss[$scenario.$tool]} | sort -n | tail -1)
	done
done

gb=$(echo "$bytes / 1000000000" | bc -l)
has() { [[ " $tools " == *" $1 "* ]]; }
# Before/after: imgpull against the --baseline binary, same rounds.
compare_table() {
	printf '| %s | loopback | capped |\n|---|---|---|\n' "imgpull: this build vs --baseline"
	for t in imgpull base; do
		printf '| %s wall | %.2f s | %.2f s |\n' "$t" "${wall[loopback.$t]}" "${wall[capped.$t]}"
	done
	for t in imgpull base; do
		printf '| %s CPU seconds per GB | %.2f | %.2f |\n' "$t" "$(echo "${cpu[loopback.$t]} / $gb" | bc -l)" \
			"$(echo "${cpu[capped.$t]} / $gb" | bc -l)"
	done
	for t in imgpull base; do
		printf '| %s peak RSS | %.1f MiB | %.1f MiB |\n' "$t" "$(echo "${rss[loopback.$t]} / 1024" | bc -l)" \
			"$(echo "${rss[capped.$t]} / 1024" | bc -l)"
	done
	printf '| wall, base / this build | %.3fx | %.3fx |\n' "$(echo "${wall[loopback.base]} / ${wall[loopback.imgpull]}" | bc -l)" \
		"$(echo "${wall[capped.base]} / ${wall[capped.imgpull]}" | bc -l)"
	echo
}
peers_table() {
	printf '| scenario | imgpull | skopeo 1.9 | ctr content fetch (1.6) | containerd 2.2 multipart | imgpull vs skopeo | vs ctr 1.6 | vs containerd 2.2 |\n'
	printf '|---|---|---|---|---|---|---|---|\n'
	for s in loopback capped; do
		printf '| %s | %.2f s | %.2f s | %.2f s | %.2f s | %.1fx | %.1fx | %.1fx |\n' "$s" "${wall[$s.imgpull]}" \
			"${wall[$s.skopeo]}" "${wall[$s.ctr]}" "${wall[$s.ctd22]}" \
			"$(echo "${wall[$s.skopeo]} / ${wall[$s.imgpull]}" | bc -l)" \
			"$(echo "${wall[$s.ctr]} / ${wall[$s.imgpull]}" | bc -l)" \
			"$(echo "${wall[$s.ctd22]} / ${wall[$s.imgpull]}" | bc -l)"
	done
	echo
	printf '| peak RSS | loopback | capped |\n|---|---|---|\n'
	for t in imgpull skopeo ctr ctd22; do
		printf '| %s | %.1f MiB | %.1f MiB |\n' "$t" "$(echo "${rss[loopback.$t]} / 1024" | bc -l)" \
			"$(echo "${rss[capped.$t]} / 1024" | bc -l)"
	done
	echo
	printf '| imgpull resources | loopback | capped |\n|---|---|---|\n'
	printf '| CPU seconds per GB | %.2f | %.2f |\n' "$(echo "${cpu[loopback.imgpull]} / $gb" | bc -l)" \
		"$(echo "${cpu[capped.imgpull]} / $gb" | bc -l)"
	printf '| peak RSS | %.1f MiB | %.1f MiB |\n' "$(echo "${rss[loopback.imgpull]} / 1024" | bc -l)" \
		"$(echo "${rss[capped.imgpull]} / 1024" | bc -l)"
	echo
}
table=$(
	if has skopeo && has ctr && has ctd22; then peers_table; fi
	if has base; then compare_table; fi
	printf 'Image: %s bytes (layers %s), %d runs each, medians; blob store cap %s per connection; %s, %d cores.\n' \
		"$bytes" "$layers" "$runs" "$rate" "$(date -u +%Y-%m-%d)" "$(nproc)"
)
echo
echo "$table"
[[ -z "$out" ]] || echo "$table" >"$out"
