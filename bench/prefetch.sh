#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Node-prefetch benchmark: the time until the kubelet could start the pod, i.e.
# the image fetched and unpacked in containerd, three ways, same image, same
# servers, same run, tools taking turns; medians of several runs.
#
#   bench/prefetch.sh [--runs N] [--layers "2G 512M 256M 64M 16M"] [--rate 40m] [--out FILE]
#
#   containerd 1.6   Debian's containerd alone: a CRI PullImage (as the kubelet
#                    sends it), overlayfs snapshotter;
#   imgpull          imgpull pull --containerd: its download, the hand-off into
#                    containerd's content store, then the CRI PullImage in which
#                    containerd 1.6 fetches only the manifests and unpacks
#                    (overlayfs), reported as the three parts;
#   containerd 2.2   the multipart-fetch peer of ../shared/peers/containerd-2.2
#                    (`run.sh REF pull`: transfer service, 16 x 16 MiB ranges,
#                    native snapshotter as its runner sets it).
# Blobs are served by docker-registry answering 307 to an nginx store capped at
# --rate per connection (like S3 behind ECR). Every containerd starts on a fresh
# root, so nothing is cached between runs. Reports wall time, CPU seconds
# (daemon and client) and peak RSS of each.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_setup prefetch "$@"
ref="$REG_CAPPED_ADDR/bench/big:1"

# Debian's containerd with its CRI plugin and overlayfs, on a fresh root.
ctd16_start() { ip_containerd_cri_start --snapshotter overlayfs "$REG_CAPPED_ADDR"; }
ctd16_stop() { ip_containerd_stop; }
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# Each prints: "wall download handoff unpack client_cpu daemon_cpu client_rss_kb daemon_rss_kb"
run_ctd16() {
	ctd16_start
	local c0 t0 t1 c1 rss
	c0=$(cpu_s "$CRI_PID")
	t0=$(date +%s.%N)
	ip_cri_pull "$ref" >/dev/null
	t1=$(date +%s.%N)
	c1=$(cpu_s "$CRI_PID")
	rss=$(hwm_kb "$CRI_PID")
	ctd16_stop
	local w
	w=$(echo "$t1 - $t0" | bc)
	echo "$w - - - 0 $(echo "$c1 - $c0" | bc) 0 $rss"
}
run_imgpull() {
	ctd16_start
	local c0 c1 rss tf="$T_WORK/time.out" log="$T_WORK/imgpull.log"
	c0=$(cpu_s "$CRI_PID")
	/usr/bin/time -f '%e %U %S %M' -o "$tf" "$IMGPULL" pull --plain-http "$REG_CAPPED_ADDR" --log-format text \
		--progress none -v --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" "$ref" >"$log" 2>&1 ||
		{ cat "$log" >&2; t_fail "imgpull failed"; }
	c1=$(cpu_s "$CRI_PID")
	rss=$(hwm_kb "$CRI_PID")
	ctd16_stop
	local w u s m put unpack
	read -r w u s m <"$tf"
	put=$(sed -n 's/.*containerd: .* blobs put into its content store .* in \([0-9.]*\) s$/\1/p' "$log")
	unpack=$(sed -n 's/^containerd: .* -> sha256:[0-9a-f]* (\([0-9.]*\) s)$/\1/p' "$log")
	[[ -n "$put" && -n "$unpack" ]] || { cat "$log" >&2; t_fail "cannot read the hand-off's times"; }
	echo "$w $(echo "$w - $put - $unpack" | bc) $put $unpack $(echo "$u + $s" | bc) $(echo "$c1 - $c0" | bc) $m $rss"
}
run_ctd22() {
	local w c r
	read -r w c r < <(bench_ctd22 "$ref" pull)
	echo "$w - - - 0 $c 0 $r"
}

tools=(ctd16 imgpull ctd22)
declare -A col
for i in $(seq 1 "$runs"); do
	for tool in "${tools[@]}"; do
		sync
		read -r w dl ho up cc dc cr dr < <("run_$tool")
		t_log "run $i $tool: ${w}s wall (download $dl, hand-off $ho, containerd's pull+unpack $up), CPU ${cc}+${dc}s, RSS ${cr}/${dr} KB"
		for k in w dl ho up cc dc cr dr; do col[$tool.$k]+="${!k} "; done
	done
done
med() { printf '%s\n' ${col[$1]} | grep -v '^-$' | median; }
maxv() { printf '%s\n' ${col[$1]} | sort -n | tail -1; }
table=$(
	printf '| end to end, unpacked | wall | download | hand-off | containerd pull + unpack | CPU s (client + daemon) | peak RSS (client / daemon) | vs containerd 1.6 |\n'
	printf '|---|---|---|---|---|---|---|---|\n'
	for tool in "${tools[@]}"; do
		name=$tool
		[[ $tool == ctd16 ]] && name="containerd 1.6 CRI pull"
		[[ $tool == ctd22 ]] && name="containerd 2.2 multipart"
		[[ $tool == imgpull ]] && name="imgpull + hand-off to containerd 1.6"
		w=$(med "$tool.w")
		if [[ $tool == imgpull ]]; then
			parts=$(printf '%.2f s | %.2f s | %.2f s' "$(med imgpull.dl)" "$(med imgpull.ho)" "$(med imgpull.up)")
		else
			parts="- | - | $(printf '%.2f s' "$w")"
		fi
		printf '| %s | %.2f s | %s | %.2f + %.2f | %.1f / %.1f MiB | %.1fx |\n' "$name" "$w" "$parts" \
			"$(med "$tool.cc")" "$(med "$tool.dc")" "$(echo "$(maxv "$tool.cr") / 1024" | bc -l)" \
			"$(echo "$(maxv "$tool.dr") / 1024" | bc -l)" "$(echo "$(med ctd16.w) / $w" | bc -l)"
	done
	echo
	printf 'Image: %s bytes (layers %s), %d runs each, medians (peak RSS: the largest); blob store cap %s per connection; %s, %d cores.\n' \
		"$bytes" "$layers" "$runs" "$rate" "$(date -u +%Y-%m-%d)" "$(nproc)"
)
echo
echo "$table"
[[ -z "$out" ]] || echo "$table" >"$out"
