# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# What bench/bench.sh and bench/prefetch.sh share: their options, the tools,
# the servers and the image. Source it from the project's root, then call
# bench_setup NAME "$@".
#
#   --runs N          rounds, tools taking turns (default 3)
#   --layers SIZES    the image's layers (default: the 2.9 GB image of
#                     shared/reference/performance.md)
#   --rate RATE       the blob store's cap per connection (default 40m)
#   --out FILE        also write the markdown table there
#
# After bench_setup: runs, layers, rate, out; peer (the containerd 2.2 runner);
# the test library loaded, T_WORK; an nginx blob store capped at rate; registries
# DIRECT (serves blobs itself) and CAPPED (307 to the store) on one storage;
# the image pushed as bench/big:1; bytes (config + layers).

bench_setup() {
	local name=$1
	shift
	runs=3 layers="2G 512M 256M 64M 16M" rate=40m out=""
	while (($#)); do
		case $1 in
		--runs) runs=$2; shift 2 ;;
		--layers) layers=$2; shift 2 ;;
		--rate) rate=$2; shift 2 ;;
		--out) out=$2; shift 2 ;;
		*) echo "usage: bench/$name.sh [--runs N] [--layers SIZES] [--rate RATE] [--out FILE]" >&2; exit 2 ;;
		esac
	done
	bench_env "$name"
	bench_servers
	local layer_args=() l
	for l in $layers; do layer_args+=(--layer "$l"); done
	t_make_image "$T_WORK/src" big "${layer_args[@]}" --seed 1
	t_push "$T_WORK/src" big "$REG_DIRECT_ADDR" bench/big:1
	rm -rf "$T_WORK/src"
	bytes=$(skopeo inspect --tls-verify=false --raw "docker://$REG_DIRECT_ADDR/bench/big:1" |
		jq '[.config.size] + [.layers[].size] | add')
}

# bench_env NAME: the tools (scripts/deps.sh), the release build, the test
# library and a work directory under $IMGPULL_WORK (default /var/tmp/imgpull-bench).
bench_env() {
	peer=$(cd .. && pwd)/shared/peers/containerd-2.2
	[[ -x "$peer/run.sh" ]] || { echo "$1: $peer/run.sh is missing" >&2; exit 1; }
	scripts/deps.sh
	scripts/build.sh build
	export IMGPULL_SRC=$PWD IMGPULL=$PWD/build/imgpull IMGPULL_WORK=${IMGPULL_WORK:-/var/tmp/imgpull-bench}
	T_NAME=$1
	source test/lib/common.sh
	source test/lib/imgpull.sh
	t_workdir "$1"
}

# bench_servers: the nginx blob store capped at $rate per connection, and the
# registries DIRECT (serves blobs itself) and CAPPED (307 to the store) on one
# storage.
bench_servers() {
	local storage="$T_WORK/storage"
	mkdir -p "$storage"
	t_nginx_blobstore_start S3 "$storage" --rate "$rate"
	t_registry_start DIRECT --root "$storage"
	t_registry_start CAPPED --root "$storage" --redirect "$BLOB_S3_URL"
}

# median: the median of the numbers on stdin, one a line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# bench_ctd22 REF MODE: one transfer of the containerd 2.2 peer (fetch or pull)
# on its own fresh daemon; prints "wall_s daemon_cpu_s daemon_rss_kb".
bench_ctd22() {
	local o
	o=$(PLAIN_HTTP=1 CONTAINERD22_BIN="$T_WORK/ctd22-bin" TMPDIR="$T_WORK" "$peer/run.sh" "$1" "$2" 2>"$T_WORK/ctd22.err") ||
		{ cat "$T_WORK/ctd22.err" >&2; t_fail "containerd 2.2 failed"; }
	sed -n 's/.*wall_s=\([0-9.]*\) daemon_cpu_s=\([0-9.]*\) daemon_rss_kb=\([0-9]*\).*/\1 \2 \3/p' <<<"$o"
}
