#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Node-prefetch benchmark: the time until the kubelet could start the pod, i.e.
# the image fetched and unpacked in containerd, several ways, same images, same
# servers, same containerd 1.6, same run, tools taking turns; medians of --runs
# rounds.
#
#   bench/prefetch.sh [--runs N] [--layers "2G 512M 256M 64M 16M"] [--rate 40m]
#                     [--image big|files|both] [--out FILE]
#
# Images (--image, default both):
#   big     the 2.9 GB image of shared/reference/performance.md (--layers: five
#           layers of incompressible data, one file each);
#   files   an image of many small files, the first two layers bench/unpack.sh
#           builds (same cache): a Debian 12 rootfs (mmdebstrap minbase +
#           python3) and this machine's /usr/lib/x86_64-linux-gnu as
#           /opt/cuda/lib64, gzip (pigz -6).
# Rows:
#   ctd16     Debian's containerd 1.6 alone: a CRI PullImage as the kubelet sends
#             it, overlayfs snapshotter;
#   none      imgpull pull --containerd --snapshotter none against the same
#             containerd: its download, the hand-off into containerd's content
#             store, the CRI PullImage in which containerd fetches only the
#             manifests and unpacks; then the kubelet's CRI PullImage;
#   snap      imgpull pull --containerd: each layer unpacked into containerd's
#             overlayfs snapshotter while it downloads, the hand-off, imgpull's
#             CRI PullImage (containerd finds every snapshot); then the kubelet's
#             CRI PullImage, sent by this script, timed separately and counted in
#             the end to end time (the pod can start when it returns);
#   unpack    imgpull pull --unpack DIR into a plain directory on the same
#             filesystem as containerd's root (no containerd);
#   ctd22     the containerd 2.2 peer (../shared/peers/containerd-2.2) with its
#             CRI plugin enabled: a CRI PullImage through its transfer service
#             with multipart fetch (16 downloads, 16 MiB ranges), overlayfs.
# The kubelet's CRI PullImage after an imgpull row must move 0 blob bytes (the
# blob store's access log) and leave the list of committed snapshots as it was
# (ctr snapshots ls): the benchmark fails otherwise. The snap row also fails if
# imgpull did not unpack every layer itself (a fallback to containerd's unpack).
# Blobs are served by docker-registry answering 307 to an nginx store capped at
# --rate per connection (like S3 behind ECR). Every containerd starts on a fresh
# root, so nothing is cached between runs; finished roots are moved aside, not
# deleted, until the end (ext4 makes the next allocations pay for thousands of
# just-deleted inodes). Reports wall time and its parts, CPU seconds (client and
# daemon, the daemon's waited-for children such as unpigz included) and peak RSS.
# Targets (issue 19), for imgpull with snapshots + the kubelet's CRI pull: at
# least 6x faster end to end than containerd 1.6, within 1.3x of pull --unpack,
# peak RSS at most 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
image=both
args=()
while (($#)); do
	case $1 in
	--image) image=$2; shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
case $image in
big) images=(big) ;;
files) images=(files) ;;
both) images=(big files) ;;
*) echo "bench/prefetch.sh: --image big, files or both" >&2; exit 2 ;;
esac
bench_usage_extra="[--image big|files|both]"
[[ $image != files ]] || bench_no_big=1
bench_setup prefetch "${args[@]}"
[[ $image == big ]] || bench_files_image
declare -A ref nlayers desc
ref[big]="$REG_CAPPED_ADDR/bench/big:1" nlayers[big]=$(wc -w <<<"$layers")
ref[files]="$REG_CAPPED_ADDR/bench/files:1" nlayers[files]=2
[[ $image == files ]] || desc[big]="$bytes bytes, layers $layers (one file of incompressible data each)"
[[ $image == big ]] ||
	desc[files]="$files_bytes bytes gzip, $files_out_bytes uncompressed, $files_entries entries (Debian 12 minbase + python3; /usr/lib/x86_64-linux-gnu)"

mkdir -p "$T_WORK/old"
now() { date +%s.%N; }
sub() { echo "$1 - $2" | bc; }
# daemon_cpu PID: CPU seconds of the process and of its children it waited for
# (containerd runs unpigz to inflate).
daemon_cpu() { awk '{printf "%.2f", ($14 + $15 + $16 + $17) / 100}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
# aside DIR: a finished tree out of the way until the end, its large files freed.
aside() {
	[[ -e $1 ]] || return 0
	find "$1" -xdev -type f -size +8M -delete
	mv "$1" "$T_WORK/old/$(basename "$1").$(date +%s%N)"
}

# Debian's containerd with its CRI plugin and overlayfs, on a fresh root.
ctd16_start() { ip_containerd_cri_start --snapshotter overlayfs "$REG_CAPPED_ADDR"; }
ctd16_stop() {
	t_stop "$CRI_PID"
	aside "$T_WORK/containerd"
}
committed() { "${CTR[@]}" snapshots --snapshotter overlayfs ls | awk '$NF == "Committed" {print $1}' | sort; }
# blob_bytes FROM_LINE: body bytes the blob store sent from that line of its log on.
blob_bytes() {
	tail -n "+$1" "$BLOB_S3_LOG" | sed -n 's/^[^"]*"[^"]*" [0-9]* \([0-9]*\) .*/\1/p' | awk '{s += $1} END {print s + 0}'
}

# kubelet_pull IMG: the CRI PullImage the kubelet sends once the image is
# there; prints its seconds. Fails unless it moved 0 blob bytes and committed
# no snapshot.
kubelet_pull() {
	local s0 s1 l0 t0 t1 moved
	s0=$(committed)
	[[ $(wc -l <<<"$s0") -ge ${nlayers[$1]} ]] || t_fail "$1: only $(wc -l <<<"$s0") committed snapshots before the kubelet's pull"
	l0=$(($(wc -l <"$BLOB_S3_LOG") + 1))
	t0=$(now)
	ip_cri_pull "${ref[$1]}" >/dev/null
	t1=$(now)
	moved=$(blob_bytes "$l0")
	s1=$(committed)
	[[ $moved == 0 ]] || t_fail "$1: the kubelet's CRI pull after imgpull moved $moved blob bytes"
	[[ $s0 == "$s1" ]] || t_fail "$1: the kubelet's CRI pull changed the committed snapshots: $(diff <(echo "$s0") <(echo "$s1") | tr '\n' ' ')"
	sub "$t1" "$t0"
}

# Each run_* IMG prints: "wall download handoff cri kubelet client_cpu daemon_cpu
# client_rss_kb daemon_rss_kb snapshot_s" ("-" where it does not apply).
run_ctd16() {
	ctd16_start
	local c0 t0 t1 c1 rss
	c0=$(daemon_cpu "$CRI_PID")
	t0=$(now)
	ip_cri_pull "${ref[$1]}" >/dev/null
	t1=$(now)
	c1=$(daemon_cpu "$CRI_PID")
	rss=$(hwm_kb "$CRI_PID")
	[[ $(committed | wc -l) == "${nlayers[$1]}" ]] || t_fail "containerd 1.6 did not commit ${nlayers[$1]} snapshots"
	ctd16_stop
	echo "$(sub "$t1" "$t0") - - $(sub "$t1" "$t0") - - $(sub "$c1" "$c0") - $rss -"
}
# run_imgpull_containerd IMG SNAPSHOTTER ("" for the default: the CRI plugin's)
run_imgpull_containerd() {
	local img=$1 sn=$2 c0 c1 rss tf="$T_WORK/time.out" log="$T_WORK/imgpull.log" flags=()
	[[ -z $sn ]] || flags=(--snapshotter "$sn")
	ctd16_start
	c0=$(daemon_cpu "$CRI_PID")
	/usr/bin/time -f '%e %U %S %M' -o "$tf" "$IMGPULL" pull --plain-http "$REG_CAPPED_ADDR" --log-format text \
		--progress none -v --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" "${flags[@]}" "${ref[$img]}" \
		>"$log" 2>&1 || { cat "$log" >&2; t_fail "imgpull failed"; }
	local kub
	kub=$(kubelet_pull "$img")
	c1=$(daemon_cpu "$CRI_PID")
	rss=$(hwm_kb "$CRI_PID")
	ctd16_stop
	local w u s m put cri snap="-" applied
	read -r w u s m <"$tf"
	put=$(sed -n 's/.*containerd: .* blobs put into its content store .* in \([0-9.]*\) s$/\1/p' "$log")
	cri=$(sed -n 's/^containerd: .* -> sha256:[0-9a-f]* (\([0-9.]*\) s)$/\1/p' "$log")
	[[ -n "$put" && -n "$cri" ]] || { cat "$log" >&2; t_fail "cannot read the hand-off's times"; }
	if [[ $sn == none ]]; then
		! grep -q 'layers unpacked into its' "$log" || { cat "$log" >&2; t_fail "--snapshotter none unpacked"; }
	else
		applied=$(sed -n 's/.*containerd: \([0-9]*\) layers unpacked into its overlayfs snapshotter .* and 0 there already, in .*/\1/p' "$log")
		[[ $applied == "${nlayers[$img]}" ]] ||
			{ cat "$log" >&2; t_fail "imgpull did not unpack the ${nlayers[$img]} layers into overlayfs snapshots itself"; }
		snap=$(sed -n 's/.*layers unpacked into its overlayfs snapshotter .* in \([0-9.]*\) s$/\1/p' "$log")
	fi
	echo "$(echo "$w + $kub" | bc) $(echo "$w - $put - $cri" | bc) $put $cri $kub $(echo "$u + $s" | bc) \
$(sub "$c1" "$c0") $m $rss $snap"
}
run_none() { run_imgpull_containerd "$1" none; }
run_snap() { run_imgpull_containerd "$1" ""; }
run_unpack() {
	local tf="$T_WORK/time.out" log="$T_WORK/imgpull.log" dir="$T_WORK/unpack-out/rootfs" w u s m
	mkdir -p "$T_WORK/unpack-out"
	/usr/bin/time -f '%e %U %S %M' -o "$tf" "$IMGPULL" pull --plain-http "$REG_CAPPED_ADDR" --log-format text \
		--progress none -v --unpack "$dir" "${ref[$1]}" >"$log" 2>&1 || { cat "$log" >&2; t_fail "imgpull --unpack failed"; }
	[[ -f $dir/.imgpull-unpacked ]] || t_fail "the unpack is not complete"
	aside "$dir"
	read -r w u s m <"$tf"
	echo "$w $w - - - $(echo "$u + $s" | bc) - $m - -"
}
run_ctd22() {
	bench_ctd22_cri_start "$REG_CAPPED_ADDR"
	local c0 t0 t1 c1 rss n
	c0=$(daemon_cpu "$C22_PID")
	t0=$(now)
	CRI_SOCK=$C22_SOCK ip_cri_pull "${ref[$1]}" >/dev/null
	t1=$(now)
	c1=$(daemon_cpu "$C22_PID")
	rss=$(hwm_kb "$C22_PID")
	n=$("$T_WORK/ctd22-bin/ctr" --address "$C22_SOCK" -n k8s.io snapshots --snapshotter overlayfs ls 2>/dev/null | grep -c Committed || true)
	[[ $n == "${nlayers[$1]}" ]] || t_fail "containerd 2.2 committed $n overlayfs snapshots, not ${nlayers[$1]}"
	t_stop "$C22_PID"
	aside "$C22_DIR"
	echo "$(sub "$t1" "$t0") - - $(sub "$t1" "$t0") - - $(sub "$c1" "$c0") - $rss -"
}

tools=(ctd16 none snap unpack ctd22)
declare -A col
for img in "${images[@]}"; do
	for i in $(seq 1 "$runs"); do
		for tool in "${tools[@]}"; do
			sync
			read -r w dl ho cri kub cc dc cr dr sn < <("run_$tool" "$img")
			[[ -n ${sn:-} ]] || t_fail "$img $tool run $i: no result"
			t_log "$img run $i $tool: ${w}s wall (download $dl, hand-off $ho, CRI pull $cri, kubelet's CRI pull $kub, unpack thread $sn), CPU ${cc}+${dc}s, RSS ${cr}/${dr} KB; load $(cut -d' ' -f1-3 /proc/loadavg)"
			for k in w dl ho cri kub cc dc cr dr sn; do col[$img.$tool.$k]+="${!k} "; done
			sn=""
		done
	done
done

med() { printf '%s\n' ${col[$1]} | grep -v '^-$' | median; }
maxv() { printf '%s\n' ${col[$1]} | grep -v '^-$' | sort -n | tail -1; }
cell() { # KEY FORMAT: the median, or "-"
	[[ ${col[$1]} == *[0-9]* ]] || { echo -; return; }
	printf "$2" "$(med "$1")"
}
mib() { [[ ${col[$1]} == *[0-9]* ]] || { echo -; return; }; printf '%.1f' "$(echo "$(maxv "$1") / 1024" | bc -l)"; }
ratio() { printf '%.2fx' "$(echo "$1 / $2" | bc -l)"; }
declare -A name=(
	[ctd16]="containerd 1.6 CRI pull (overlayfs)"
	[none]="imgpull --snapshotter none: download, hand-off, containerd 1.6 unpacks; + kubelet CRI pull"
	[snap]="imgpull, snapshots while downloading (overlayfs); + kubelet CRI pull"
	[unpack]="imgpull pull --unpack DIR (no containerd)"
	[ctd22]="containerd 2.2 CRI pull (transfer service, multipart 16 x 16 MiB, overlayfs)"
)
table=$(
	for img in "${images[@]}"; do
		echo "**${img} image**: ${desc[$img]}"
		echo
		printf '| end to end, until the pod can start | wall | download (+ unpack, overlapping) | hand-off | containerd CRI pull (+ unpack) | kubelet CRI pull | CPU s (client + daemon) | peak RSS MiB (client / daemon) | vs containerd 1.6 | vs pull --unpack |\n'
		printf '|---|---|---|---|---|---|---|---|---|---|\n'
		for tool in "${tools[@]}"; do
			w=$(med "$img.$tool.w")
			printf '| %s | %.2f s | %s | %s | %s | %s | %s + %s | %s / %s | %s | %s |\n' "${name[$tool]}" "$w" \
				"$(cell "$img.$tool.dl" '%.2f s')" "$(cell "$img.$tool.ho" '%.2f s')" "$(cell "$img.$tool.cri" '%.2f s')" \
				"$(cell "$img.$tool.kub" '%.2f s')" "$(cell "$img.$tool.cc" '%.2f')" "$(cell "$img.$tool.dc" '%.2f')" \
				"$(mib "$img.$tool.cr")" "$(mib "$img.$tool.dr")" "$(ratio "$(med "$img.ctd16.w")" "$w")" \
				"$(ratio "$w" "$(med "$img.unpack.w")")"
		done
		echo
	done
	printf '| targets: imgpull with snapshots + kubelet CRI pull |'
	for img in "${images[@]}"; do printf ' %s image |' "$img"; done
	printf '\n|---|'
	for img in "${images[@]}"; do printf -- '---|'; done
	printf '\n| faster than containerd 1.6 end to end (target >= 6x) |'
	for img in "${images[@]}"; do printf ' %s |' "$(ratio "$(med "$img.ctd16.w")" "$(med "$img.snap.w")")"; done
	printf '\n| against pull --unpack into a directory (target <= 1.3x) |'
	for img in "${images[@]}"; do printf ' %s |' "$(ratio "$(med "$img.snap.w")" "$(med "$img.unpack.w")")"; done
	printf '\n| imgpull peak RSS (target <= 64 MiB) |'
	for img in "${images[@]}"; do printf ' %s MiB |' "$(mib "$img.snap.cr")"; done
	printf '\n| its unpack thread, start to last Commit (the download overlapping) |'
	for img in "${images[@]}"; do printf ' %s |' "$(cell "$img.snap.sn" '%.2f s')"; done
	printf '\n| download alone (the none row) |'
	for img in "${images[@]}"; do printf ' %s |' "$(cell "$img.none.dl" '%.2f s')"; done
	printf '\n\n'
	printf '%d runs each, medians (peak RSS: the largest); blob store cap %s per connection; %s, %d cores.\n' \
		"$runs" "$rate" "$(date -u +%Y-%m-%d)" "$(nproc)"
)
echo
echo "$table"
[[ -z "$out" ]] || echo "$table" >"$out"
