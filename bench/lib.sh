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
# the image pushed as bench/big:1 (unless bench_no_big=1); bytes (config + layers).
# A script with options of its own parses them first, passes the rest, and names
# them in bench_usage_extra. IMGPULL_BUILD names the build directory (default build).

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
		*) echo "usage: bench/$name.sh [--runs N] [--layers SIZES] [--rate RATE] [--out FILE]${bench_usage_extra:+ $bench_usage_extra}" >&2; exit 2 ;;
		esac
	done
	bench_env "$name"
	bench_servers
	[[ ${bench_no_big:-0} == 1 ]] || bench_big_image
}

# bench_big_image: the image of $layers pushed as bench/big:1; sets bytes.
bench_big_image() {
	local layer_args=() l
	for l in $layers; do layer_args+=(--layer "$l"); done
	t_make_image "$T_WORK/src" big "${layer_args[@]}" --seed 1
	t_push "$T_WORK/src" big "$REG_DIRECT_ADDR" bench/big:1
	rm -rf "$T_WORK/src"
	bytes=$(skopeo inspect --tls-verify=false --raw "docker://$REG_DIRECT_ADDR/bench/big:1" |
		jq '[.config.size] + [.layers[].size] | add')
}

# bench_env NAME: the tools (scripts/deps.sh), the release build (in
# $IMGPULL_BUILD, default build/), the test library and a work directory under
# $IMGPULL_WORK (default /var/tmp/imgpull-bench).
bench_env() {
	peer=$(cd .. && pwd)/shared/peers/containerd-2.2
	[[ -x "$peer/run.sh" ]] || { echo "$1: $peer/run.sh is missing" >&2; exit 1; }
	local build=${IMGPULL_BUILD:-build}
	scripts/deps.sh
	scripts/build.sh "$build"
	export IMGPULL_SRC=$PWD IMGPULL=$PWD/$build/imgpull IMGPULL_WORK=${IMGPULL_WORK:-/var/tmp/imgpull-bench}
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

# bench_debian_layers: the layers of many small files that bench/unpack.sh
# also builds, in the same cache ($IMGPULL_WORK/unpack-cache, kept between
# runs): a Debian 12 rootfs (mmdebstrap minbase + python3) and this machine's
# /usr/lib/x86_64-linux-gnu as /opt/cuda/lib64, each as NAME.tar, NAME.tar.gz
# (pigz -6) and NAME.tar.diffid. Sets debian_layers (the .tar paths).
bench_debian_layers() {
	local cache=$IMGPULL_WORK/unpack-cache l
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
	debian_layers=("$cache/rootfs.tar" "$cache/libs.tar")
	for l in "${debian_layers[@]}"; do
		[[ -s $l.gz ]] || { pigz -6 -n -c "$l" >"$l.gz.tmp" && mv "$l.gz.tmp" "$l.gz"; }
		[[ -s $l.diffid ]] || { echo "sha256:$(sha256sum "$l" | cut -d' ' -f1)" >"$l.diffid.tmp" && mv "$l.diffid.tmp" "$l.diffid"; }
	done
}

# bench_oci_layout DIR FILE MEDIA_TYPE DIFF_ID...: an OCI layout of one image
# whose layers are the FILEs (hard-linked in), bottom first, tagged 1.
bench_oci_layout() {
	"$T_PY" - "$@" <<'PY'
import hashlib, json, os, sys
out, rest = sys.argv[1], sys.argv[2:]
os.makedirs(os.path.join(out, "blobs", "sha256"))
def put_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 22), b""):
            h.update(b)
    os.link(path, os.path.join(out, "blobs", "sha256", h.hexdigest()))
    return "sha256:" + h.hexdigest(), os.path.getsize(path)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(out, "blobs", "sha256", d), "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
layers, diff_ids = [], []
for i in range(0, len(rest), 3):
    d, n = put_file(rest[i])
    layers.append({"mediaType": rest[i + 1], "digest": d, "size": n})
    diff_ids.append(rest[i + 2])
config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
          "rootfs": {"type": "layers", "diff_ids": diff_ids}}
cd = put(json.dumps(config).encode())
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **cd), "layers": layers}
md = put(json.dumps(man).encode())
json.dump({"schemaVersion": 2, "manifests": [dict(mediaType=man["mediaType"], annotations={"org.opencontainers.image.ref.name": "1"}, **md)]},
          open(os.path.join(out, "index.json"), "w"))
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion": "1.0.0"}')
PY
}

# bench_files_image: the Debian layers (bench_debian_layers, gzip) pushed as
# bench/files:1; sets files_bytes (compressed layers), files_out_bytes
# (uncompressed) and files_entries.
bench_files_image() {
	bench_debian_layers
	local args=() l
	files_bytes=0 files_out_bytes=0 files_entries=0
	for l in "${debian_layers[@]}"; do
		args+=("$l.gz" application/vnd.oci.image.layer.v1.tar+gzip "$(cat "$l.diffid")")
		files_bytes=$((files_bytes + $(stat -c %s "$l.gz")))
		files_out_bytes=$((files_out_bytes + $(stat -c %s "$l")))
		files_entries=$((files_entries + $(tar -tf "$l" | wc -l)))
	done
	bench_oci_layout "$T_WORK/img-files" "${args[@]}"
	t_push "$T_WORK/img-files" 1 "$REG_DIRECT_ADDR" bench/files:1
	rm -rf "$T_WORK/img-files"
}

# bench_ctd22_cri_start REGISTRY_ADDR: the containerd 2.2 peer's daemon with its
# CRI plugin (the runner disables it), as a node would run it: CRI images on the
# overlayfs snapshotter, pulls through the transfer service with multipart fetch
# (16 downloads, 16 MiB ranges, as run.sh sets them), REGISTRY_ADDR over plain
# HTTP (certs.d hosts.toml), on a fresh root in $T_WORK/ctd22-cri. Sets
# C22_PID, C22_SOCK, C22_DIR.
bench_ctd22_cri_start() {
	local reg=$1 bin=$T_WORK/ctd22-bin f
	mkdir -p "$bin"
	for f in containerd ctr; do
		[[ -x $bin/$f && $bin/$f -nt $peer/$f.xz ]] ||
			{ xz -dc "$peer/$f.xz" >"$bin/$f.tmp" && chmod +x "$bin/$f.tmp" && mv "$bin/$f.tmp" "$bin/$f"; }
	done
	C22_DIR=$T_WORK/ctd22-cri
	rm -rf "$C22_DIR"
	mkdir -p "$C22_DIR/root" "$C22_DIR/state" "$C22_DIR/certs.d/$reg"
	cat >"$C22_DIR/certs.d/$reg/hosts.toml" <<TOML
server = "http://$reg"
[host."http://$reg"]
  capabilities = ["pull", "resolve"]
TOML
	cat >"$C22_DIR/config.toml" <<TOML
version = 3
root = "$C22_DIR/root"
state = "$C22_DIR/state"
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.erofs"]
[grpc]
  address = "$C22_DIR/c.sock"
[ttrpc]
  address = "$C22_DIR/c.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$C22_DIR/opt"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$C22_DIR/certs.d"
[plugins."io.containerd.cri.v1.runtime"]
  disable_apparmor = true
  restrict_oom_score_adj = true
[plugins."io.containerd.transfer.v1.local"]
  max_concurrent_downloads = 16
  concurrent_layer_fetch_buffer = 16777216
  [[plugins."io.containerd.transfer.v1.local".unpack_config]]
    platform = "linux/amd64"
    snapshotter = "overlayfs"
TOML
	t_spawn "$C22_DIR/containerd.log" "$bin/containerd" --config "$C22_DIR/config.toml"
	C22_PID=$T_SPAWNED_PID
	C22_SOCK=$C22_DIR/c.sock
	t_wait_until 10 "$bin/ctr" --address "$C22_SOCK" version >/dev/null 2>&1 ||
		{ tail -n 20 "$C22_DIR/containerd.log" >&2; t_fail "containerd 2.2 did not start"; }
}
