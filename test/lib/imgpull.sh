# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers shared by imgpull's integration tests, on top of common.sh.
# The set-ups several tests share (a registry redirecting to a capped store, ...) are in
# fixtures.sh.

# shellcheck source=fixtures.sh
source "$T_LIB_DIR/fixtures.sh"

# ip_check_layout DIR: every blob's name is its sha256 and nothing is left in ingest/.
ip_check_layout() {
  local dir=$1 f hex n=0
  [[ -f "$dir/oci-layout" && -f "$dir/index.json" ]] || t_fail "$dir is not an OCI layout"
  jq -e '.schemaVersion == 2 and (.manifests | type == "array")' "$dir/index.json" >/dev/null ||
    t_fail "$dir/index.json is malformed"
  for f in "$dir"/blobs/sha256/*; do
    hex=$(sha256sum "$f" | cut -d' ' -f1)
    [[ "$hex" == "$(basename "$f")" ]] || t_fail "blob $(basename "$f") has sha256 $hex"
    n=$((n + 1))
  done
  ! ls "$dir"/ingest/*.partial >/dev/null 2>&1 || t_fail "partial files left in $dir/ingest"
  t_ok "layout $dir: $n blobs, all digests verified with sha256sum"
}

# ip_skopeo_check DIR REF MANIFEST_DIGEST: skopeo reads the image from our layout
# (manifest, config and every layer) and finds the expected manifest digest.
ip_skopeo_check() {
  local dir=$1 ref=$2 want=$3 got
  got=$(skopeo inspect --format '{{.Digest}}' "oci:$dir:$ref") || t_fail "skopeo inspect oci:$dir:$ref failed"
  t_assert_eq "$got" "$want" "skopeo sees $ref with the pushed manifest digest"
  # A full copy reads and verifies every blob through skopeo's own code.
  rm -rf "$T_WORK/skopeo-copy"
  skopeo copy --quiet "oci:$dir:$ref" "dir:$T_WORK/skopeo-copy" >/dev/null 2>"$T_WORK/skopeo-copy.err" ||
    { cat "$T_WORK/skopeo-copy.err" >&2; t_fail "skopeo copy from oci:$dir:$ref failed"; }
  t_ok "skopeo copied $ref out of the layout (all blobs verified by skopeo)"
}

# _ip_containerd_run SECTION [DIR [LEVEL [LABEL]]]: a private containerd (root, state and
# socket in DIR, default $T_WORK/containerd, started afresh) whose config.toml ends with
# SECTION, logging at LEVEL (its default when empty) to DIR/containerd.log; waits (10 s)
# until ctr reaches it, else fails naming LABEL (default containerd). Sets CTD_PID,
# CTD_SOCK and CTD_ROOT.
_ip_containerd_run() {
  local d=${2:-$T_WORK/containerd} level=${3:-} label=${4:-containerd}
  rm -rf "$d"
  mkdir -p "$d/root" "$d/state"
  cat >"$d/config.toml" <<TOML
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$d/c.sock"
[ttrpc]
  address = "$d/c.ttrpc.sock"
[debug]
  address = ""${level:+
  level = \"$level\"}
[metrics]
  address = ""
$1
TOML
  t_spawn "$d/containerd.log" containerd --config "$d/config.toml"
  CTD_PID=$T_SPAWNED_PID
  t_wait_until 10 ctr --address "$d/c.sock" version >/dev/null 2>&1 ||
    { tail -n 20 "$d/containerd.log" >&2; t_fail "$label did not start"; }
  CTD_SOCK="$d/c.sock"
  CTD_ROOT="$d/root"
}

# _ip_cri_section SNAPSHOTTER REGISTRY_ADDR...: the CRI plugin's part of a containerd 1.x
# config.toml: snapshotter SNAPSHOTTER, each REGISTRY_ADDR reached over plain HTTP.
_ip_cri_section() {
  local snap=$1 r
  shift
  printf '%s\n' '[plugins."io.containerd.grpc.v1.cri"]' '  disable_cgroup = true' '  disable_apparmor = true' \
    '  restrict_oom_score_adj = true' '  [plugins."io.containerd.grpc.v1.cri".containerd]' "    snapshotter = \"$snap\""
  for r in "$@"; do
    printf '  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."%s"]\n    endpoint = ["http://%s"]\n' "$r" "$r"
  done
}

# ip_containerd_stop: stops it and removes its root.
ip_containerd_stop() {
  t_stop "$CTD_PID"
  rm -rf "$T_WORK/containerd"
}

# ip_containerd_start: a private containerd; sets CTR (namespace imgpull-test).
ip_containerd_start() {
  _ip_containerd_run '[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = true'
  CTR=(ctr --address "$CTD_SOCK" --namespace imgpull-test)
}

# ip_ctr_import DIR REF: containerd imports the layout (as a tar) and lists REF.
ip_ctr_import() {
  local dir=$1 ref=$2 tarf="$T_WORK/layout.tar"
  tar -C "$dir" -cf "$tarf" oci-layout index.json blobs
  "${CTR[@]}" images import --no-unpack --all-platforms "$tarf" >"$T_WORK/ctr-import.out" 2>&1 ||
    { cat "$T_WORK/ctr-import.out" >&2; t_fail "ctr images import failed"; }
  # Not a pipe into grep -q: under pipefail, ctr's SIGPIPE would fail the check.
  "${CTR[@]}" images ls -q >"$T_WORK/ctr-images" || t_fail "ctr images ls failed"
  grep -qxF "$ref" "$T_WORK/ctr-images" || { cat "$T_WORK/ctr-images" >&2; t_fail "ctr does not list $ref after import"; }
  "${CTR[@]}" content ls -q >"$T_WORK/ctr-content" || t_fail "ctr content ls failed"
  t_ok "containerd imported the layout and lists $ref"
}

# ip_nginx_proxy_start NAME UPSTREAM_ADDR RATE: a rate-capped reverse proxy in
# front of a registry (a slow registry that serves blobs itself); exports
# PROXY_<NAME>_ADDR and PROXY_<NAME>_LOG.
ip_nginx_proxy_start() {
  local name=$1 up=$2 rate=$3 dir="$T_WORK/proxy-$1" http
  http=$(
    cat <<CONF
  log_format p '\$request \$status range="\$http_range"';
  access_log $dir/access.log p;
  server {
    listen 127.0.0.1:@PORT@;
    location / {
      proxy_pass http://$up;
      proxy_set_header Host \$http_host;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      limit_rate $rate;
    }
  }
CONF
  )
  _t_nginx_run "proxy $name" "$dir" "" 1 256 "generated by imgpull test/lib/imgpull.sh: proxy to $up" "$http"
  printf -v "PROXY_${name}_ADDR" '%s' "127.0.0.1:$_T_SERVE_PORT"
  printf -v "PROXY_${name}_LOG" '%s' "$dir/access.log"
}

# ip_hostile_start NAME OCI_DIR [--manifest MODE] [--blob MODE]: test/lib/hostile.py, a
# registry serving OCI_DIR's images that misbehaves as the modes say (see its header);
# exports HOSTILE_<NAME>_ADDR and HOSTILE_<NAME>_LOG (one line per request).
ip_hostile_start() {
  local name=$1 layout=$2
  shift 2
  _ip_py_serve HOSTILE "$name" "hostile $name" "$T_WORK/hostile-$name" hostile.py --layout "$layout" "$@"
}

# _ip_py_serve PREFIX NAME LABEL DIR SCRIPT ARGS...: test/lib/SCRIPT (a server of the
# project's own, python) started by _t_serve with --port @PORT@ ARGS... --log DIR/requests.log
# (emptied first; its own output in DIR/server.log); sets PREFIX_<NAME>_ADDR and
# PREFIX_<NAME>_LOG (the requests.log).
_ip_py_serve() {
  local P=$1 name=$2 label=$3 dir=$4 script=$5
  shift 5
  mkdir -p "$dir"
  : >"$dir/requests.log"
  _t_serve "$label" "" "$dir/server.log" "" -- \
    "$T_PY" "$T_LIB_DIR/$script" --port @PORT@ "$@" --log "$dir/requests.log"
  printf -v "${P}_${name}_ADDR" '%s' "127.0.0.1:$_T_SERVE_PORT"
  printf -v "${P}_${name}_LOG" '%s' "$dir/requests.log"
}

# ip_faultproxy_start NAME UPSTREAM_ADDR [--expire-redirects S]: test/lib/faultproxy.py
# in front of a real server; its rules file starts empty (everything passes). Exports
# FAULT_<NAME>_ADDR, FAULT_<NAME>_URL, FAULT_<NAME>_LOG (one line per request) and
# FAULT_<NAME>_RULES (write rules there; the proxy reads them again when it changes).
ip_faultproxy_start() {
  local name=$1 up=$2
  shift 2
  local dir="$T_WORK/fault-$name"
  mkdir -p "$dir"
  : >"$dir/rules"
  _ip_py_serve FAULT "$name" "fault proxy $name" "$dir" faultproxy.py --upstream "$up" --rules "$dir/rules" "$@"
  printf -v "FAULT_${name}_URL" '%s' "http://127.0.0.1:$_T_SERVE_PORT"
  printf -v "FAULT_${name}_RULES" '%s' "$dir/rules"
  t_log "fault proxy $name on 127.0.0.1:$_T_SERVE_PORT in front of $up"
}

# ip_containerd_cri_start [--snapshotter NAME] REGISTRY_ADDR...: a private
# containerd with its CRI plugin (snapshotter native unless NAME), reaching each
# REGISTRY_ADDR over plain HTTP. Sets CRI_SOCK, CRI_ROOT, CRI_PID and CTR (ctr in
# the k8s.io namespace, the kubelet's).
ip_containerd_cri_start() {
  local snap=native
  if [[ "${1:-}" == --snapshotter ]]; then
    snap=$2
    shift 2
  fi
  _ip_containerd_run "$(_ip_cri_section "$snap" "$@")"
  CRI_PID=$CTD_PID
  CRI_SOCK=$CTD_SOCK
  CRI_ROOT=$CTD_ROOT
  CTR=(ctr --address "$CRI_SOCK" --namespace k8s.io)
}

# ip_cri_pull REF: a CRI PullImage of REF sent by the test itself (curl over
# HTTP/2 on the socket, the request's protobuf built here), as the kubelet would.
# Prints containerd's image id; fails on any gRPC error.
ip_cri_pull() {
  local ref=$1 req="$T_WORK/cri-req.bin"
  "$T_PY" - "$ref" "$req" <<'PY'
import sys
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out
img = sys.argv[1].encode()
spec = b"\x0a" + varint(len(img)) + img          # ImageSpec.image = 1
msg = b"\x0a" + varint(len(spec)) + spec         # PullImageRequest.image = 1
open(sys.argv[2], "wb").write(b"\x00" + len(msg).to_bytes(4, "big") + msg)
PY
  curl -sS --http2-prior-knowledge --unix-socket "$CRI_SOCK" -H 'Content-Type: application/grpc' -H 'TE: trailers' \
    --data-binary @"$req" -D "$T_WORK/cri-hdrs" -o "$T_WORK/cri-resp" --max-time 300 \
    http://localhost/runtime.v1.ImageService/PullImage || t_fail "CRI PullImage of $ref: curl failed"
  grep -qi '^grpc-status: 0' "$T_WORK/cri-hdrs" || t_fail "CRI PullImage of $ref failed: $(tr -d '\r' <"$T_WORK/cri-hdrs" | grep -i grpc-)"
  grep -ao 'sha256:[0-9a-f]\{64\}' "$T_WORK/cri-resp" | head -1
}

# ip_static_bin: the static binary (IMGPULL_STATIC_BIN, default build-static/imgpull),
# which scripts/static.sh builds and scripts/test.sh builds first; fails if missing.
ip_static_bin() {
  local b=${IMGPULL_STATIC_BIN:-$IMGPULL_SRC/build-static/imgpull}
  [[ -x "$b" ]] || t_fail "$b is missing: scripts/static.sh builds it (scripts/test.sh runs it first)"
  echo "$b"
}

# ip_containerd_cri_run NAME [--snapshotter SN] [--log-level LEVEL] REGISTRY_ADDR...:
# as ip_containerd_cri_start (CRI plugin, snapshotter native unless SN, each
# REGISTRY_ADDR over plain HTTP) but in $T_WORK/NAME, so that several run at once,
# logging at LEVEL (default info; debug logs each layer containerd applies, "diff
# applied"). Sets CRI_SOCK, CRI_ROOT, CRI_PID, CRI_LOG (its log) and CTR (ctr in k8s.io).
ip_containerd_cri_run() {
  local name=$1 snap=native level=info
  shift
  while (($#)); do
    case $1 in
    --snapshotter) snap=$2; shift 2 ;;
    --log-level) level=$2; shift 2 ;;
    *) break ;;
    esac
  done
  local CTD_PID CTD_SOCK CTD_ROOT # ip_containerd_start's stay as they are
  _ip_containerd_run "$(_ip_cri_section "$snap" "$@")" "$T_WORK/$name" "$level" "containerd $name"
  CRI_PID=$CTD_PID
  CRI_SOCK=$CTD_SOCK
  CRI_ROOT=$CTD_ROOT
  CRI_LOG="$T_WORK/$name/containerd.log"
  CTR=(ctr --address "$CRI_SOCK" --namespace k8s.io)
}

# ip_chain_ids OCI_DIR: the chain IDs of the first image of the layout, one a line,
# bottom layer first (identity.ChainID over the config's diff_ids).
ip_chain_ids() {
  "$T_PY" - "$1" <<'PY'
import hashlib, json, os, sys
lay = sys.argv[1]
def blob(d):
    return json.load(open(os.path.join(lay, "blobs", "sha256", d.split(":")[1])))
man = blob(json.load(open(os.path.join(lay, "index.json")))["manifests"][0]["digest"])
chain = None
for d in blob(man["config"]["digest"])["rootfs"]["diff_ids"]:
    chain = d if chain is None else "sha256:" + hashlib.sha256((chain + " " + d).encode()).hexdigest()
    print(chain)
PY
}

# ip_snapshot_dir SNAPSHOTTER_ROOT NAME...: the directory of each committed snapshot
# NAME of the k8s.io namespace (SNAPSHOTTER_ROOT/snapshots/<id>, as the snapshotter's
# own bolt database, SNAPSHOTTER_ROOT/metadata.db, maps the name to its id), one a
# line; fails if one is not there. Read-only (bbolt's file format, read directly).
ip_snapshot_dir() {
  "$T_PY" - "$@" <<'PY' || t_fail "ip_snapshot_dir $*: not found"
import os, struct, sys
root, names = sys.argv[1], sys.argv[2:]
data = open(os.path.join(root, "metadata.db"), "rb").read()
psz = struct.unpack_from("<I", data, 24)[0]
metas = []
for p in (0, 1):
    magic, ver, _, _, top, _, _, _, txid = struct.unpack_from("<IIIIQQQQQ", data, p * psz + 16)
    if magic == 0xED0CDAED and ver == 2:
        metas.append((txid, top))
if not metas:
    sys.exit("no valid bbolt meta page")
def items(buf, off):  # (key, value, is_bucket) of a page and the pages under it
    _, flags, count, _ = struct.unpack_from("<QHHI", buf, off)
    for i in range(count):
        e = off + 16 + 16 * i
        if flags & 0x01:  # branch
            _, _, pgid = struct.unpack_from("<IIQ", buf, e)
            yield from items(data, pgid * psz)
        elif flags & 0x02:  # leaf
            fl, pos, ks, vs = struct.unpack_from("<IIII", buf, e)
            yield buf[e + pos:e + pos + ks], buf[e + pos + ks:e + pos + ks + vs], bool(fl & 1)
def bucket(v):  # the items of a bucket value (inline when its root page is 0)
    r = struct.unpack_from("<Q", v, 0)[0]
    return items(v[16:], 0) if r == 0 else items(data, r * psz)
def sub(it, name):
    for k, v, b in it:
        if b and k == name:
            return bucket(v)
    sys.exit("no bucket %r" % name)
def uvarint(b):
    n = s = 0
    for c in b:
        n |= (c & 0x7F) << s
        s += 7
        if not c & 0x80:
            break
    return n
found = {}
for k, v, b in sub(sub(items(data, max(metas)[1] * psz), b"v1"), b"snapshots"):
    key = k.decode()  # namespace/<n>/name
    parts = key.split("/", 2)
    if b and len(parts) == 3 and parts[0] == "k8s.io":
        f = {kk: vv for kk, vv, _ in bucket(v)}
        if f.get(b"kind", b"\0")[0] == 3:  # snapshots.KindCommitted
            found[parts[2]] = os.path.join(root, "snapshots", str(uvarint(f[b"id"])))
missing = [n for n in names if n not in found]
if missing:
    sys.exit("not committed in %s: %s" % (root, " ".join(missing)))
print("\n".join(found[n] for n in names))
PY
}

# ip_containerd22_bins: the containerd 2.2 peer's daemon and client, unpacked as
# its run.sh unpacks them (xz -dc of $IMGPULL_SRC/../shared/peers/containerd-2.2/
# {containerd,ctr}.xz into ${CONTAINERD22_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/containerd-2.2},
# again when an .xz is newer than its binary). Fails, never skips, when the peer
# is missing or is not containerd 2.2. Sets CTD22_BIN (the directory).
ip_containerd22_bins() {
  local peer="$IMGPULL_SRC/../shared/peers/containerd-2.2" f tmp v
  local bin=${CONTAINERD22_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/containerd-2.2}
  command -v xz >/dev/null || t_fail "xz is missing (apt-get install -y xz-utils)"
  mkdir -p "$bin" || t_fail "cannot make $bin"
  for f in containerd ctr; do
    [[ -f "$peer/$f.xz" ]] || t_fail "$peer/$f.xz is missing: the containerd 2.2 peer (see its README.md) is needed"
    [[ -x "$bin/$f" && "$bin/$f" -nt "$peer/$f.xz" ]] && continue
    tmp="$bin/.$f.$$.tmp" # another test may unpack at the same time: rename into place
    { xz -dc "$peer/$f.xz" >"$tmp" && chmod 755 "$tmp" && mv -f "$tmp" "$bin/$f"; } ||
      { rm -f "$tmp"; t_fail "cannot unpack $peer/$f.xz into $bin"; }
  done
  v=$("$bin/containerd" --version 2>&1) || t_fail "$bin/containerd --version failed: $v"
  [[ "$v" == *" v2.2."* ]] || t_fail "$bin/containerd is not containerd 2.2: $v"
  CTD22_BIN=$bin
}

# ip_containerd22_cri_start [--snapshotter NAME] [--log-level LEVEL] [--name DIR]
#                           REGISTRY_ADDR...:
# the containerd 2.2 peer (ip_containerd22_bins) with its CRI plugin enabled (the
# peer's run.sh disables it), on a fresh root in $T_WORK/DIR (default
# containerd22; another DIR runs another one beside it), the CRI's snapshotter
# NAME (default native, as ip_containerd_cri_start), each REGISTRY_ADDR reached
# over plain HTTP (certs.d/ADDR/hosts.toml: 2.x has no registry.mirrors),
# logging at LEVEL (default info; debug logs "diff applied" for each layer it
# unpacks). 2.x's CRI pulls through the transfer service, which unpacks only
# for the snapshotters of its unpack_config (default overlayfs alone: a CRI
# pull with native answered "no unpack platforms defined"), so NAME is set
# there too. Waits until its CRI image service answers.
# Sets what ip_containerd_cri_start sets, so ip_cri_pull and the rest work:
# CRI_SOCK, CRI_ROOT, CRI_PID, CTR (2.2's ctr in k8s.io), and CRI_LOG (its log),
# CRI_DIR ($T_WORK/DIR).
ip_containerd22_cri_start() {
  local snap=native level=info name=containerd22 r d platform
  while (($#)); do
    case $1 in
    --snapshotter) snap=$2; shift 2 ;;
    --log-level) level=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    *) break ;;
    esac
  done
  _t_need_work
  ip_containerd22_bins
  case $(uname -m) in
  x86_64) platform=linux/amd64 ;;
  aarch64) platform=linux/arm64/v8 ;;
  *) t_fail "ip_containerd22_cri_start: no containerd platform known for $(uname -m)" ;;
  esac
  d="$T_WORK/$name"
  rm -rf "$d"
  mkdir -p "$d/root" "$d/state" "$d/opt" "$d/certs.d"
  for r in "$@"; do
    mkdir -p "$d/certs.d/$r"
    printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$r" "$r" \
      >"$d/certs.d/$r/hosts.toml"
  done
  cat >"$d/config.toml" <<TOML
version = 3
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.erofs"]
[grpc]
  address = "$d/c.sock"
[ttrpc]
  address = "$d/c.sock.ttrpc"
[debug]
  address = ""
  level = "$level"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "$snap"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$d/certs.d"
[plugins."io.containerd.cri.v1.runtime"]
  disable_apparmor = true
  restrict_oom_score_adj = true
[plugins."io.containerd.transfer.v1.local"]
  [[plugins."io.containerd.transfer.v1.local".unpack_config]]
    platform = "$platform"
    snapshotter = "$snap"
TOML
  t_spawn "$d/containerd.log" "$CTD22_BIN/containerd" --config "$d/config.toml"
  CRI_PID=$T_SPAWNED_PID
  CRI_SOCK="$d/c.sock"
  CRI_ROOT="$d/root"
  CRI_LOG="$d/containerd.log"
  CRI_DIR=$d
  CTR=("$CTD22_BIN/ctr" --address "$CRI_SOCK" --namespace k8s.io)
  t_wait_until 10 _ip_cri_answers ImageService/ImageFsInfo ||
    { tail -n 20 "$d/containerd.log" >&2; t_fail "containerd 2.2 ($name) did not start with its CRI plugin"; }
  t_log "containerd 2.2 ($name) with CRI, snapshotter $snap, on $CRI_SOCK (pid $CRI_PID)"
}

# _ip_cri_answers SERVICE/METHOD: an empty request on $CRI_SOCK answers grpc-status 0.
_ip_cri_answers() {
  local h
  h=$(printf '\0\0\0\0\0' | curl -sS --http2-prior-knowledge --unix-socket "$CRI_SOCK" --max-time 5 \
    -H 'Content-Type: application/grpc' -H 'TE: trailers' --data-binary @- -D - -o /dev/null \
    "http://localhost/runtime.v1.$1" 2>/dev/null) || return 1
  [[ "$h" == *$'\ngrpc-status: 0\r'* ]]
}

# ip_containerd22_cri_stop: stops the containerd 2.2 whose CRI_* are current and
# removes its directory.
ip_containerd22_cri_stop() {
  t_stop "$CRI_PID"
  rm -rf "$CRI_DIR"
}
