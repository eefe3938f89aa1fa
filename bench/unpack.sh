#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Unpack benchmark: the time until the last file of an image is in a root
# filesystem, imgpull `pull --unpack` (download and unpack overlapping) against
# `skopeo copy` + `umoci unpack` (the unpackers people use, one after the
# other), in the capped setting (docker-registry answering 307 to an nginx store
# capped at --rate per connection, like S3 behind ECR); same image, same
# servers, same run, tools taking turns; medians of --runs rounds.
#
#   bench/unpack.sh [--runs N] [--weights 2G] [--rate 40m] [--out FILE]
#
# The image, three layers, once all gzip (pigz -6, as registries' pushers
# write it) and once all zstd (-3):
#   1. a Debian 12 rootfs with many small files (mmdebstrap minbase + python3);
#   2. shared libraries: this machine's /usr/lib/x86_64-linux-gnu, as
#      /opt/cuda/lib64;
#   3. model weights, --weights bytes of bfloat16-like values (random mantissas,
#      exponents of a normal distribution of sigma 0.02): nearly incompressible.
# The trees and compressed layers are kept in $IMGPULL_WORK/unpack-cache.
#
# Measured per image: imgpull --unpack (no --dest: nothing kept); imgpull's
# download alone (into a layout); imgpull's unpack alone (--unpack with every
# blob already in the --dest layout: nothing downloads); skopeo copy docker:// oci: then umoci unpack
# (gzip only: umoci 0.4.7 reads no zstd); inflating the largest layer alone on
# one core (bench_inflate: the unpack's own inflater and diff_id hash, nothing
# written; and without the hash); and per layer, the inflate throughput of that
# path through ISA-L against the same code built for zlib (bench_inflate_zlib),
# and zstd's, with and without the diff_id's hash.
# Targets (issue 12): imgpull --unpack at most 1/3 of skopeo + umoci; at most
# 1.2x max(download alone, inflate of the largest layer); ISA-L at least 2x zlib;
# peak RSS at most 64 MiB while unpacking.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
runs=3 weights=2G rate=40m out=""
while (($#)); do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--weights) weights=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: bench/unpack.sh [--runs N] [--weights SIZE] [--rate RATE] [--out FILE]" >&2; exit 2 ;;
	esac
done
weights_bytes=$(numfmt --from=iec "$weights")
bench_env unpack
for t in mmdebstrap pigz zstd umoci skopeo; do
	command -v "$t" >/dev/null || t_fail "$t is missing (scripts/deps.sh installs it)"
done
INFLATE=$PWD/build/bench/bench_inflate INFLATE_ZLIB=$PWD/build/bench/bench_inflate_zlib
[[ -x $INFLATE && -x $INFLATE_ZLIB ]] || t_fail "build/bench/bench_inflate{,_zlib} were not built"
bench_servers

# --- the image -----------------------------------------------------------------
cache=$IMGPULL_WORK/unpack-cache
mkdir -p "$cache"
if [[ ! -s $cache/rootfs.tar ]]; then
	t_log "mmdebstrap: Debian 12 minbase + python3"
	mmdebstrap --quiet --variant=minbase --include=python3 --mode=root bookworm "$cache/rootfs.tmp.tar" \
		"${IMGPULL_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$T_WORK/mmdebstrap.log" 2>&1 ||
		t_fail "mmdebstrap failed: $(tail -n 20 "$T_WORK/mmdebstrap.log")"
	mv "$cache/rootfs.tmp.tar" "$cache/rootfs.tar"
fi
if [[ ! -s $cache/libs.tar ]]; then
	tar --format=posix -C / --transform 's,^usr/lib/x86_64-linux-gnu,opt/cuda/lib64,' \
		-cf "$cache/libs.tar.tmp" usr/lib/x86_64-linux-gnu
	mv "$cache/libs.tar.tmp" "$cache/libs.tar"
fi
wtar=$cache/weights-$weights_bytes.tar
if [[ ! -s $wtar ]]; then
	t_log "generating $weights_bytes bytes of weights"
	mkdir -p "$cache/wtree/models"
	"$T_PY" - "$cache/wtree/models/model.bf16" "$weights_bytes" <<'PY'
import random, statistics, struct, sys
path, n = sys.argv[1], int(sys.argv[2])
# A bfloat16's high byte is its sign and exponent: those of N(0, 0.02) samples,
# drawn through a 256-entry table; the low byte (mantissa) is random.
dist = statistics.NormalDist(0, 0.02)
table = bytes(struct.pack(">f", dist.inv_cdf((i + 0.5) / 256))[0] for i in range(256))
rng = random.Random(1)
step = 32 << 20
with open(path, "wb") as f:
    left = n
    while left > 0:
        k = min(step, left) // 2 or 1
        buf = bytearray(2 * k)
        buf[0::2] = rng.randbytes(k)
        buf[1::2] = rng.randbytes(k).translate(table)
        f.write(buf[:left])
        left -= len(buf)
PY
	tar --format=posix -C "$cache/wtree" -cf "$wtar.tmp" models
	rm -rf "$cache/wtree"
	mv "$wtar.tmp" "$wtar"
fi
layers=("$cache/rootfs.tar" "$cache/libs.tar" "$wtar")
for l in "${layers[@]}"; do
	[[ -s $l.gz ]] || { pigz -6 -n -c "$l" >"$l.gz.tmp" && mv "$l.gz.tmp" "$l.gz"; }
	[[ -s $l.zst ]] || { zstd -q -3 -T0 -c "$l" >"$l.zst.tmp" && mv "$l.zst.tmp" "$l.zst"; }
	[[ -s $l.diffid ]] || { echo "sha256:$(sha256sum "$l" | cut -d' ' -f1)" >"$l.diffid.tmp" && mv "$l.diffid.tmp" "$l.diffid"; }
done

# make_layout DIR gz|zst: an OCI layout of the three layers, tagged 1.
make_layout() {
	local args=() l mt=application/vnd.oci.image.layer.v1.tar+gzip
	[[ $2 == zst ]] && mt=application/vnd.oci.image.layer.v1.tar+zstd
	for l in "${layers[@]}"; do args+=("$l.$2" "$mt" "$(cat "$l.diffid")"); done
	bench_oci_layout "$1" "${args[@]}"
}
declare -A img_bytes img_out
for z in gz zst; do
	make_layout "$T_WORK/img-$z" "$z"
	t_push "$T_WORK/img-$z" 1 "$REG_DIRECT_ADDR" "bench/unpack-$z:1"
	rm -rf "$T_WORK/img-$z"
	img_bytes[$z]=0
	for l in "${layers[@]}"; do img_bytes[$z]=$((img_bytes[$z] + $(stat -c %s "$l.$z"))); done
done
out_bytes=0
for l in "${layers[@]}"; do out_bytes=$((out_bytes + $(stat -c %s "$l"))); done
entries=$(($(tar -tf "$cache/rootfs.tar" | wc -l) + $(tar -tf "$cache/libs.tar" | wc -l) + $(tar -tf "$wtar" | wc -l)))
t_log "image: ${img_bytes[gz]} bytes gzip, ${img_bytes[zst]} zstd, $out_bytes uncompressed, $entries entries"

# --- the runs --------------------------------------------------------------------
# Output goes to the machine's own filesystem. A tree of thousands of files is
# not deleted between runs (only its large weights file): ext4 skips the inodes
# deleted in the last minute when it allocates new ones (recently_deleted), and
# that scan would be the next run's largest cost. They go when the benchmark
# ends (needs about 1.5 GB per run and tool that unpacks).
out_fs=$T_WORK/out
mkdir -p "$out_fs" "$T_WORK/old"
clean() {
	local d
	for d in rootfs bundle; do
		[[ -d $out_fs/$d ]] || continue
		find "$out_fs/$d" -name model.bf16 -delete
		mv "$out_fs/$d" "$T_WORK/old/$d.$(date +%s%N)"
	done
	rm -rf "$out_fs"/*
	sync
}
# A fresh VM's memory costs the host's first touch of each page (~0.8 GB/s
# here), which would land on whichever tool first grows the page cache that
# far: touch most of it once, as a node that has run for a while has.
warm=$(($(awk '/MemAvailable/ {print $2}' /proc/meminfo) / 1024 - 4096))
((warm > 0)) && { dd if=/dev/zero of=/dev/shm/imgpull-bench-warm bs=1M count="$warm" status=none; rm -f /dev/shm/imgpull-bench-warm; }
# timed LOG CMD...: runs CMD under /usr/bin/time; prints "wall user sys maxrss_kb".
timed() {
	local log=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$T_WORK/time.out" "$@" >"$log" 2>&1 || { tail -n 20 "$log" >&2; t_fail "$1 failed"; }
	cat "$T_WORK/time.out"
}
run_tool() { # TOOL Z -> "wall cpu rss_kb [wall2]"
	local ref=$REG_CAPPED_ADDR/bench/unpack-$2:1 w u s m w2 u2 s2 m2
	clean
	case $1 in
	unpack)
		read -r w u s m < <(timed "$T_WORK/run.log" "$IMGPULL" pull -v --plain-http "$REG_CAPPED_ADDR" --progress none \
			--unpack "$out_fs/rootfs" "$ref")
		[[ -f $out_fs/rootfs/.imgpull-unpacked && ! -e $out_fs/rootfs.imgpull-layout ]] || t_fail "the unpack is not complete"
		echo "$w $(echo "$u + $s" | bc -l) $m"
		;;
	download)
		read -r w u s m < <(timed "$T_WORK/run.log" "$IMGPULL" pull --plain-http "$REG_CAPPED_ADDR" --progress none -q \
			--dest "$out_fs/layout" "$ref")
		echo "$w $(echo "$u + $s" | bc -l) $m"
		;;
	local-unpack) # the unpack alone: every blob already in the layout, nothing downloads
		timed "$T_WORK/run.log" "$IMGPULL" pull --plain-http "$REG_CAPPED_ADDR" --progress none -q \
			--dest "$out_fs/layout" "$ref" >/dev/null
		sync
		read -r w u s m < <(timed "$T_WORK/run.log" "$IMGPULL" pull --plain-http "$REG_CAPPED_ADDR" --progress none -q \
			--dest "$out_fs/layout" --unpack "$out_fs/rootfs" "$ref")
		[[ -f $out_fs/rootfs/.imgpull-unpacked ]] || t_fail "the local unpack is not complete"
		echo "$w $(echo "$u + $s" | bc -l) $m"
		;;
	skopeo-umoci)
		read -r w u s m < <(timed "$T_WORK/run.log" skopeo copy --quiet --src-tls-verify=false "docker://$ref" "oci:$out_fs/sk:1")
		read -r w2 u2 s2 m2 < <(timed "$T_WORK/run2.log" umoci unpack --image "$out_fs/sk:1" "$out_fs/bundle")
		echo "$(echo "$w + $w2" | bc -l) $(echo "$u + $s + $u2 + $s2" | bc -l) $((m > m2 ? m : m2)) $w $w2"
		;;
	esac
}

# One untimed pull first (page cache of a fresh VM).
run_tool download gz >/dev/null
declare -A walls cpus rsss parts1 parts2
tools=("unpack gz" "download gz" "local-unpack gz" "skopeo-umoci gz" "unpack zst" "download zst" "local-unpack zst")
for i in $(seq 1 "$runs"); do
	for tz in "${tools[@]}"; do
		read -r tool z <<<"$tz"
		read -r w c m w1 w2 < <(run_tool "$tool" "$z") || true
		[[ -n ${w:-} ]] || t_fail "$tool $z run $i failed"
		t_log "$tool $z run $i: ${w}s wall, ${c} CPU-s, ${m} KB${w1:+ (skopeo ${w1}s, umoci ${w2}s)}"
		walls[$tool.$z]+="$w " cpus[$tool.$z]+="$c " rsss[$tool.$z]+="$m "
		[[ -z ${w1:-} ]] || { parts1[$tool.$z]+="$w1 " parts2[$tool.$z]+="$w2 "; }
		w="" w1="" w2=""
	done
done
med() { printf '%s\n' $1 | median; }
maxrss() { printf '%s\n' $1 | sort -n | tail -1; }

# Inflate alone, one thread: every layer through ISA-L and zlib (gzip), and
# zstd; with the diff_id's hash (the unpack's path) and without (the inflater).
declare -A inf
for l in "${layers[@]}"; do
	n=$(basename "$l" .tar)
	for v in "isal $INFLATE $l.gz gzip" "zlib $INFLATE_ZLIB $l.gz gzip" "zstd $INFLATE $l.zst zstd"; do
		read -r k bin f c <<<"$v"
		j=$("$bin" "$f" "$c" 3) || t_fail "bench_inflate $f failed"
		[[ "$(jq -r .diff_id <<<"$j")" == "$(cat "$l.diffid")" ]] || t_fail "bench_inflate $f: wrong diff_id"
		[[ $k != isal || "$(jq -r .engine <<<"$j")" == isa-l ]] || t_fail "bench_inflate is not built with ISA-L"
		inf[$n.$k]=$j
		j=$("$bin" "$f" "$c" 3 --inflate-only) || t_fail "bench_inflate $f --inflate-only failed"
		inf[$n.$k.only]=$j
		t_log "inflate $n $k: $(jq -c '{seconds, out_mb_s}' <<<"${inf[$n.$k]}"), without the hash $(jq -c '{seconds, out_mb_s}' <<<"$j")"
	done
done
largest=$(for l in "${layers[@]}"; do echo "$(stat -c %s "$l.gz") $(basename "$l" .tar)"; done | sort -n | tail -1 | cut -d' ' -f2)
largest_z=$(for l in "${layers[@]}"; do echo "$(stat -c %s "$l.zst") $(basename "$l" .tar)"; done | sort -n | tail -1 | cut -d' ' -f2)

declare -A ov ov2
f2() { printf '%.2f' "$1"; }
mib() { echo "scale=1; $1 / 1024" | bc -l; }
table=$(
	echo "| capped ($rate per connection) | gzip image | zstd image |"
	echo "|---|---|---|"
	echo "| imgpull pull --unpack (no layout kept) | $(f2 "$(med "${walls[unpack.gz]}")") s | $(f2 "$(med "${walls[unpack.zst]}")") s |"
	echo "| imgpull download alone (layout) | $(f2 "$(med "${walls[download.gz]}")") s | $(f2 "$(med "${walls[download.zst]}")") s |"
	echo "| imgpull unpack alone (every blob already local) | $(f2 "$(med "${walls[local-unpack.gz]}")") s | $(f2 "$(med "${walls[local-unpack.zst]}")") s |"
	echo "| inflate the largest layer alone, one core | $(f2 "$(jq .seconds <<<"${inf[$largest.isal.only]}")") s ($largest, ISA-L) | $(f2 "$(jq .seconds <<<"${inf[$largest_z.zstd.only]}")") s ($largest_z) |"
	echo "| ... and hash it (its diff_id) | $(f2 "$(jq .seconds <<<"${inf[$largest.isal]}")") s | $(f2 "$(jq .seconds <<<"${inf[$largest_z.zstd]}")") s |"
	echo "| skopeo copy + umoci unpack | $(f2 "$(med "${walls[skopeo-umoci.gz]}")") s ($(f2 "$(med "${parts1[skopeo-umoci.gz]}")") + $(f2 "$(med "${parts2[skopeo-umoci.gz]}")")) | n/a (umoci reads no zstd) |"
	for z in gz zst; do
		inf_s=$(jq .seconds <<<"${inf[$largest.isal.only]}")
		[[ $z == zst ]] && inf_s=$(jq .seconds <<<"${inf[$largest_z.zstd.only]}")
		e2e=$(med "${walls[unpack.$z]}") dl=$(med "${walls[download.$z]}")
		bound=$(echo "if ($dl > $inf_s) $dl else $inf_s" | bc -l)
		ov[$z]=$(f2 "$(echo "$e2e / $bound" | bc -l)")
	done
	echo "| end to end / max(download alone, inflate largest) (target <= 1.2) | ${ov[gz]} | ${ov[zst]} |"
	for z in gz zst; do
		ov2[$z]=$(f2 "$(echo "$(med "${walls[unpack.$z]}") / ($(med "${walls[download.$z]}") + $(med "${walls[local-unpack.$z]}"))" | bc -l)")
	done
	echo "| end to end / (download alone + unpack alone): 1 = no overlap | ${ov2[gz]} | ${ov2[zst]} |"
	echo "| skopeo + umoci / imgpull --unpack (target >= 3) | $(f2 "$(echo "$(med "${walls[skopeo-umoci.gz]}") / $(med "${walls[unpack.gz]}")" | bc -l)")x | n/a |"
	echo "| imgpull --unpack peak RSS (target <= 64 MiB) | $(mib "$(maxrss "${rsss[unpack.gz]}")") MiB | $(mib "$(maxrss "${rsss[unpack.zst]}")") MiB |"
	echo "| imgpull --unpack CPU s (user + sys) | $(f2 "$(med "${cpus[unpack.gz]}")") | $(f2 "$(med "${cpus[unpack.zst]}")") |"
	echo "| skopeo + umoci peak RSS, CPU s | $(mib "$(maxrss "${rsss[skopeo-umoci.gz]}")") MiB, $(f2 "$(med "${cpus[skopeo-umoci.gz]}")") | n/a |"
	echo
	echo "| one thread, MB/s of output | compressed (gzip / zstd) | uncompressed | ISA-L | zlib | ISA-L / zlib (target >= 2) | zstd |"
	echo "|---|---|---|---|---|---|---|"
	for l in "${layers[@]}"; do
		n=$(basename "$l" .tar)
		for k in "" .only; do
			a=$(jq .seconds <<<"${inf[$n.isal$k]}") b=$(jq .seconds <<<"${inf[$n.zlib$k]}")
			what="inflate + diff_id"
			[[ -z $k ]] || what="inflate alone"
			echo "| $n, $what | $(stat -c %s "$l.gz") / $(stat -c %s "$l.zst") | $(stat -c %s "$l") | $(jq .out_mb_s <<<"${inf[$n.isal$k]}") | $(jq .out_mb_s <<<"${inf[$n.zlib$k]}") | $(f2 "$(echo "$b / $a" | bc -l)")x | $(jq .out_mb_s <<<"${inf[$n.zstd$k]}") |"
		done
	done
	echo
	echo "Image: ${img_bytes[gz]} bytes gzip / ${img_bytes[zst]} zstd, $out_bytes uncompressed, $entries entries (Debian 12 minbase + python3; /usr/lib/x86_64-linux-gnu; $weights_bytes bytes of bf16-like weights); $runs runs each, medians (peak RSS: the largest); blob store cap $rate per connection; $(date +%F), $(nproc) cores."
)
echo "$table"
[[ -z $out ]] || echo "$table" >"$out"
