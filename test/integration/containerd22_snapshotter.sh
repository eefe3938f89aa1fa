#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The node prefetch into containerd 2.2's snapshotter: the peer build in
# ../shared/peers/containerd-2.2 (v2.2.7) with its CRI plugin enabled
# (ip_containerd22_cri_start), on a fresh root, with the overlayfs snapshotter
# and then native. `imgpull pull --containerd` (no --dest) of a four-layer
# image (whiteouts of a file, a directory and a name of a hard-linked pair, an
# opaque directory, a directory replaced by a file and back and the reverse, a
# symbolic link replaced by a directory, hard links within a layer (one entry
# with another mode, owner, mtime and xattr, which containerd gives the file),
# a 1777 tmp that a later layer adds to without its entry, setuid and setgid,
# user xattrs, non-ASCII names; gzip, uncompressed and zstd layers) through a
# registry whose blob store logs every GET, then of a second image sharing its
# base layer (found committed: taken into imgpull's lease, not applied again).
# After each: every chain ID (computed here from the config's diff_ids) is a
# committed snapshot with the previous one as parent and
# containerd.io/snapshot.ref set, nothing else is (no imgpull- active
# snapshot), no lease and no lock file is left, every blob is in `ctr content
# ls` with containerd.io/uncompressed = its diff_id on each layer and the
# config's gc.ref.snapshot.<snapshotter> = the top chain ID, and containerd's
# debug log shows no layer applied. A CRI PullImage sent by the test moves 0
# blob bytes, applies nothing and leaves the list of snapshots as it was.
# Fidelity: a second fresh containerd 2.2 pulls both images itself through
# CRI; a view of each top chain ID, taken in both under a lease and mounted
# read-only in a private mount namespace (overlayfs; native: the view's
# directory), compares equal entry by entry (test/lib/treecmp.py), and on
# overlayfs so does each layer's directory (whiteouts c 0 0, opaque xattrs).
# GC: removing the second image keeps every snapshot of the first (the shared
# base included); removing the first frees its snapshots, their directories and
# its blobs. Fails, never skips, without the peer's files. About 10 s.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
[[ $(id -u) == 0 ]] || t_fail "needs root (containerd, mount)"
command -v zstd >/dev/null || t_fail "zstd is missing (scripts/deps.sh installs it)"
command -v unshare >/dev/null || t_fail "unshare is missing (util-linux)"
grep -qw overlay /proc/filesystems || modprobe overlay || t_fail "no overlay filesystem here"
ip_containerd22_bins # the peer's files first: missing, the test fails here

ip_redirect_setup S3 MAIN
blob_gets() { grep -c '/data HTTP' "$BLOB_S3_LOG" || true; }

# build NAME SPEC: an OCI layout $T_WORK/NAME (test/lib/fsimage.py) pushed as
# snap/NAME:v1; sets REF_<NAME>.
build() {
  ip_fs_image "$REG_MAIN_ADDR" "$1" "$2" "snap/$1:v1"
  printf -v "REF_${1^^}" '%s' "$REG_MAIN_ADDR/snap/$1:v1"
  # The manifest as the registry serves it (skopeo compresses a layer pushed
  # uncompressed: that layer's digest, and the manifest's, are not the layout's).
  curl -sSf -H 'Accept: application/vnd.oci.image.manifest.v1+json' -o "$T_WORK/$1.manifest" \
    "$REG_MAIN_URL/v2/snap/$1/manifests/v1" || t_fail "cannot read back the manifest of snap/$1:v1"
}
# What containerd's overlayfs unpack cannot apply is left out: a hard link to
# a file of a lower layer, and a name under a whiteout of the same layer.
base='{"compression": "gzip", "entries": [
  {"name": "etc/", "type": "dir", "mode": 493},
  {"name": "etc/passwd", "type": "file", "data": "root:x:0:0::/root:/bin/sh\n", "mode": 420},
  {"name": "tmp/", "type": "dir", "mode": 1023},
  {"name": "usr/", "type": "dir"},
  {"name": "usr/bin/", "type": "dir"},
  {"name": "usr/bin/tool", "type": "file", "data": "#!/bin/sh\n", "mode": 2541},
  {"name": "usr/bin/alias", "type": "hardlink", "link": "usr/bin/tool", "mode": 2541},
  {"name": "lnk", "type": "symlink", "link": "usr/bin"},
  {"name": "dev/", "type": "dir"},
  {"name": "dev/null", "type": "char", "major": 1, "minor": 3, "mode": 438},
  {"name": "run/", "type": "dir"},
  {"name": "run/fifo", "type": "fifo", "mode": 384},
  {"name": "data/", "type": "dir"},
  {"name": "data/attrs", "type": "file", "data": "x", "xattrs": {"user.imgpull": "yes"}},
  {"name": "data/shared", "type": "file", "data": "one file, two names", "mode": 416, "uid": 1000, "gid": 1000,
   "xattrs": {"user.shared": "1"}},
  {"name": "data/shared2", "type": "hardlink", "link": "data/shared", "mode": 416, "uid": 1000, "gid": 1000},
  {"name": "data/big", "type": "file", "random": 300000},
  {"name": "gone/", "type": "dir"},
  {"name": "gone/file", "type": "file", "data": "to be whited out"},
  {"name": "opaque/", "type": "dir"},
  {"name": "opaque/a", "type": "file", "data": "lower a"},
  {"name": "opaque/b/", "type": "dir"},
  {"name": "opaque/b/c", "type": "file", "data": "lower c"},
  {"name": "was-dir/", "type": "dir"},
  {"name": "was-dir/x", "type": "file", "data": "x"},
  {"name": "was-file", "type": "file", "data": "a file"},
  {"name": "keep/", "type": "dir", "mode": 488, "uid": 1000, "gid": 1000, "xattrs": {"user.dir": "kept"}},
  {"name": "keep/a", "type": "file", "data": "a"},
  {"name": "caf\u00e9/", "type": "dir", "mode": 448},
  {"name": "caf\u00e9/\u20ac", "type": "file", "data": "utf8"},
  {"name": "swap/", "type": "dir"},
  {"name": "swap/old", "type": "file", "data": "old"}
 ]}'
build main '['"$base"',
 {"compression": "none", "entries": [
  {"name": "gone/.wh.file", "type": "file"},
  {"name": "opaque/", "type": "dir"},
  {"name": "opaque/.wh..wh..opq", "type": "file"},
  {"name": "opaque/new", "type": "file", "data": "upper"},
  {"name": "was-dir", "type": "file", "data": "now a file"},
  {"name": "was-file/", "type": "dir"},
  {"name": "was-file/y", "type": "file", "data": "y"},
  {"name": "tmp/x", "type": "file", "data": "under the 1777 tmp, without its entry"},
  {"name": "keep/b", "type": "file", "data": "b", "mode": 384, "uid": 7, "gid": 8},
  {"name": "keep/b-link", "type": "hardlink", "link": "keep/b", "mode": 384, "uid": 7, "gid": 8},
  {"name": "etc/passwd", "type": "file", "data": "root:x:0:0::/root:/bin/bash\n", "mode": 384},
  {"name": "caf\u00e9/n\u00e9", "type": "file", "data": "added without the directory entry"},
  {"name": "data/attrs2", "type": "file", "data": "two", "xattrs": {"user.a": "1", "user.b": "2"}},
  {"name": "usr/bin/su", "type": "file", "data": "#!/bin/sh\n", "mode": 3565}
 ]},
 {"compression": "gzip", "entries": [
  {"name": "was-dir/", "type": "dir", "mode": 448},
  {"name": "was-dir/z", "type": "file", "data": "a directory again"},
  {"name": "was-file", "type": "file", "data": "a file again"},
  {"name": "opaque/b/", "type": "dir"},
  {"name": "opaque/b/d", "type": "file", "data": "d"},
  {"name": ".wh.lnk", "type": "file"},
  {"name": "lnk/", "type": "dir"},
  {"name": "lnk/f", "type": "file", "data": "a directory where a link was"},
  {"name": "gone", "type": "file", "data": "a file where the directory was"},
  {"name": ".wh.swap", "type": "file"},
  {"name": "new/", "type": "dir"},
  {"name": "new/f", "type": "file", "data": "three names", "mode": 420},
  {"name": "new/g", "type": "hardlink", "link": "new/f", "mode": 420},
  {"name": "new/h", "type": "hardlink", "link": "new/g", "mode": 384, "uid": 5, "gid": 6, "mtime": 1600000000,
   "xattrs": {"user.link": "set by the link entry"}}
 ]},
 {"compression": "zstd", "entries": [
  {"name": "tmp/y", "type": "file", "data": "y"},
  {"name": "data/.wh.shared", "type": "file"},
  {"name": "setgid/", "type": "dir", "mode": 1517},
  {"name": "setgid/f", "type": "file", "data": "f"}
 ]}
]'
build second '['"$base"',
 {"compression": "gzip", "entries": [
  {"name": ".wh.run", "type": "file"},
  {"name": "etc/hostname", "type": "file", "data": "second\n"},
  {"name": "opaque/", "type": "dir"},
  {"name": "opaque/.wh..wh..opq", "type": "file"}
 ]}
]'

# chains NAME: the chain IDs of $T_WORK/NAME, bottom first (identity.ChainID
# over the config's diff_ids), one a line.
chains() {
  "$T_PY" - "$T_WORK/$1" <<'PY'
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
mapfile -t CH_MAIN < <(chains main)
mapfile -t CH_SECOND < <(chains second)
((${#CH_MAIN[@]} == 4 && ${#CH_SECOND[@]} == 2)) || t_fail "chain IDs: ${CH_MAIN[*]} / ${CH_SECOND[*]}"
[[ "${CH_MAIN[0]}" == "${CH_SECOND[0]}" ]] || t_fail "the two images do not share their base layer"

ctr_() { "${CTR[@]}" "$@" 2>>"$T_WORK/ctr.err"; } # 2.2's ctr warns about cgroup v1 on each call
snap_ls() { ctr_ snapshots --snapshotter "$SN" ls | awk 'NR > 1 {print $1, $NF}' | sort; }
applied() { grep -c 'msg="diff applied"' "$CRI_LOG" || true; }

# check_committed NAME CHAIN...: each CHAIN is committed with the one before
# as parent and containerd.io/snapshot.ref, as containerd's unpacker leaves them.
check_committed() {
  local name=$1 parent="" c
  shift
  for c in "$@"; do
    ctr_ snapshots --snapshotter "$SN" info "$c" >"$T_WORK/info" || t_fail "$name: no snapshot $c"
    jq -e --arg c "$c" --arg p "$parent" '.Kind == "Committed" and .Name == $c and (.Parent // "") == $p
      and .Labels["containerd.io/snapshot.ref"] == $c' "$T_WORK/info" >/dev/null ||
      t_fail "$name: snapshot $c is not committed on '$parent' with its snapshot.ref: $(cat "$T_WORK/info")"
    parent=$c
  done
}

# check_clean: no active snapshot, no lease, no lock file of imgpull's left;
# the list of snapshots in $T_WORK/snaps.
check_clean() {
  snap_ls >"$T_WORK/snaps"
  ! grep -v ' Committed$' "$T_WORK/snaps" || t_fail "snapshots that are not committed are left (above)"
  ! grep -q imgpull- "$T_WORK/snaps" || t_fail "an imgpull- snapshot is left"
  ctr_ leases ls >"$T_WORK/leases"
  ! grep -q '^imgpull-' "$T_WORK/leases" || t_fail "an imgpull- lease is left: $(cat "$T_WORK/leases")"
  [[ -z "$(ls -A "$CRI_ROOT/imgpull/leases" 2>/dev/null)" ]] ||
    t_fail "lock files left: $(ls -A "$CRI_ROOT/imgpull/leases")"
}

# check_content NAME: every blob of snap/NAME:v1 is in containerd's content
# store of k8s.io, each layer labelled with its diff_id, the config with the top
# chain ID for this snapshotter's GC.
check_content() {
  ctr_ content ls >"$T_WORK/content"
  "$T_PY" - "$T_WORK/$1" "$T_WORK/$1.manifest" "$T_WORK/content" "$SN" <<'PY' ||
import hashlib, json, os, sys
lay, manifest, listing, sn = sys.argv[1:]
labels = {}
for line in open(listing).read().splitlines()[1:]:
    f = line.split("\t")
    labels[f[0]] = dict(kv.split("=", 1) for kv in f[-1].split(",") if "=" in kv)
def blob(d):
    return json.load(open(os.path.join(lay, "blobs", "sha256", d.split(":")[1])))
raw = open(manifest, "rb").read()
md, man = "sha256:" + hashlib.sha256(raw).hexdigest(), json.loads(raw)
cfg = blob(man["config"]["digest"])  # the layout's: skopeo keeps the config
diffs = cfg["rootfs"]["diff_ids"]
chain = None
for d in diffs:
    chain = d if chain is None else "sha256:" + hashlib.sha256((chain + " " + d).encode()).hexdigest()
bad = [d for d in [md, man["config"]["digest"]] + [l["digest"] for l in man["layers"]] if d not in labels]
bad += ["%s: uncompressed %s" % (l["digest"], labels.get(l["digest"], {}).get("containerd.io/uncompressed"))
        for l, d in zip(man["layers"], diffs) if labels.get(l["digest"], {}).get("containerd.io/uncompressed") != d]
got = labels.get(man["config"]["digest"], {}).get("containerd.io/gc.ref.snapshot." + sn)
if got != chain:
    bad.append("config: gc.ref.snapshot.%s = %s, expected %s" % (sn, got, chain))
print("\n".join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
    t_fail "$1: containerd's content store lacks a blob or a label"
}

# prefetch NAME APPLIED PRESENT: imgpull pull --containerd of snap/NAME:v1,
# which unpacks APPLIED layers and finds PRESENT committed already; then every
# check above, and the test's own CRI pull: no blob byte, nothing applied.
prefetch() {
  local name=$1 ref n0 b0 a0
  ref="REF_${1^^}"
  ref=${!ref}
  local -n ch="CH_${1^^}"
  n0=$(blob_gets)
  a0=$(applied)
  t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_MAIN_ADDR" --progress none \
    --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" "$ref"
  t_assert_file_contains "$T_ERR" "containerd: $2 layers unpacked into its $SN snapshotter \([0-9]+ entries, [0-9]+ bytes\) and $3 there already" \
    "imgpull unpacked $name into the $SN snapshotter itself"
  t_assert_file_lacks "$T_ERR" "leaving the unpack to containerd" "no fallback"
  t_assert_file_contains "$T_ERR" "^containerd: $ref -> sha256:[0-9a-f]{64}" "imgpull handed $name to containerd"
  (($(blob_gets) > n0)) || t_fail "imgpull fetched no blob of $name through the store"
  t_assert_eq "$(($(applied) - a0))" 0 "layers containerd applied itself during imgpull's hand-off of $name"
  check_committed "$name" "${ch[@]}"
  check_clean
  EXPECT+=("${ch[@]}") # and no other snapshot
  printf '%s Committed\n' "${EXPECT[@]}" | sort -u >"$T_WORK/snaps.want"
  cmp -s "$T_WORK/snaps" "$T_WORK/snaps.want" ||
    t_fail "after the prefetch of $name: $(diff "$T_WORK/snaps.want" "$T_WORK/snaps")"
  check_content "$name"
  t_ok "$SN: $name prefetched: ${#ch[@]} chain IDs committed on their parents, no lease or active snapshot left, every blob registered with its labels"
  # The kubelet's pull, sent by the test.
  snap_ls >"$T_WORK/snaps.before"
  b0=$(blob_gets)
  [[ "$(ip_cri_pull "$ref")" =~ ^sha256:[0-9a-f]{64}$ ]] || t_fail "CRI PullImage of $ref gave no image id"
  t_assert_eq "$(($(blob_gets) - b0))" 0 "blob requests during the CRI pull of $name after the prefetch"
  t_assert_eq "$(($(applied) - a0))" 0 "layers containerd applied during the CRI pull of $name"
  snap_ls >"$T_WORK/snaps.after"
  cmp -s "$T_WORK/snaps.before" "$T_WORK/snaps.after" ||
    t_fail "the CRI pull of $name changed the snapshots: $(diff "$T_WORK/snaps.before" "$T_WORK/snaps.after")"
  t_ok "$SN: the CRI pull of $name moved 0 blob bytes, applied nothing, committed no snapshot"
}

# The test's views: View requests sent with curl under the lease test-views
# (ctr's own view is under none: the next GC takes it), their mounts decoded.
cat >"$T_WORK/view.py" <<'PY'
import sys
def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out
def field(num, s):
    s = s.encode()
    return bytes([num << 3 | 2]) + varint(len(s)) + s
def fields(b):  # (number, bytes) of the length-delimited fields of a message
    i = 0
    while i < len(b):
        key, i = read_varint(b, i)
        if key & 7 == 2:
            n, i = read_varint(b, i)
            yield key >> 3, b[i:i + n]
            i += n
        elif key & 7 == 0:
            _, i = read_varint(b, i)
        else:
            sys.exit("unexpected wire type %d" % (key & 7))
def read_varint(b, i):
    n = s = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << s
        s += 7
        if not c & 0x80:
            return n, i
if sys.argv[1] == "request":  # ViewSnapshotRequest{snapshotter, key, parent}
    msg = field(1, sys.argv[2]) + field(2, sys.argv[3]) + field(3, sys.argv[4])
    sys.stdout.buffer.write(b"\0" + len(msg).to_bytes(4, "big") + msg)
else:  # one frame of ViewSnapshotResponse{repeated Mount mounts}: type, source, options joined by commas
    b = open(sys.argv[2], "rb").read()
    msg = b[5:5 + int.from_bytes(b[1:5], "big")]
    mounts = [dict(fields(m)) | {"opts": [o for k, o in fields(m) if k == 4]} for k, m in fields(msg) if k == 1]
    if len(mounts) != 1:
        sys.exit("expected one mount, got %r" % mounts)
    m = mounts[0]
    print(m[1].decode(), m[2].decode(), ",".join(o.decode() for o in m["opts"]), sep="\n")
PY
# view NAME TOP: a view "cmp-NAME" of TOP in the current containerd; its mount
# in $T_WORK/$SN.NAME.<containerd dir>.view: type, source, options (a line each).
view() {
  local out="$T_WORK/$SN.$1.${CRI_DIR##*/}"
  "$T_PY" "$T_WORK/view.py" request "$SN" "cmp-$1" "$2" >"$out.req"
  curl -sS --http2-prior-knowledge --unix-socket "$CRI_SOCK" -H 'Content-Type: application/grpc' -H 'TE: trailers' \
    -H 'containerd-namespace: k8s.io' -H 'containerd-lease: test-views' --data-binary @"$out.req" \
    -D "$out.hdrs" -o "$out.resp" --max-time 60 http://localhost/containerd.services.snapshots.v1.Snapshots/View ||
    t_fail "View of $2: curl failed"
  grep -qi '^grpc-status: 0' "$out.hdrs" || t_fail "View of $2 failed: $(tr -d '\r' <"$out.hdrs" | grep -i grpc-)"
  "$T_PY" "$T_WORK/view.py" response "$out.resp" >"$out.view" || t_fail "View of $2: cannot decode its answer"
}

# compare NAME: the view of NAME's top chain ID in the prefetched containerd
# (P_*) equals the one in the reference containerd (R_*), entry by entry; on
# overlayfs, each layer's directory (the view's lowerdirs) too.
compare() {
  local name=$1 p="$T_WORK/$SN.$1.${P_DIR##*/}.view" r="$T_WORK/$SN.$1.${R_DIR##*/}.view" i
  local -a pm rv pl rl
  mapfile -t pm <"$p"
  mapfile -t rv <"$r"
  [[ "${pm[0]}" == "${rv[0]}" ]] || t_fail "$name: mount types differ: ${pm[0]} / ${rv[0]}"
  mkdir -p "$T_WORK/mnt-p" "$T_WORK/mnt-r"
  # In a private mount namespace: overlay views mounted read-only, bind views
  # (a directory containerd made for the view) compared where they are.
  T_PY=$T_PY T_LIB_DIR=$T_LIB_DIR unshare -m --propagation private bash -c '
    set -e
    mnt() { if [[ $1 == overlay ]]; then mount -t overlay overlay -o "ro,$3" "$4"; echo "$4"; else echo "$2"; fi; }
    a=$(mnt "$1" "$2" "$3" "$T_WORK/mnt-p"); b=$(mnt "$4" "$5" "$6" "$T_WORK/mnt-r")
    exec "$T_PY" "$T_LIB_DIR/treecmp.py" "$a" "$b"' _ "${pm[@]}" "${rv[@]}" >"$T_WORK/$SN.$name.cmp" 2>&1 ||
    t_fail "$SN: $name: the prefetched rootfs differs from containerd's own unpack: $(head -n 40 "$T_WORK/$SN.$name.cmp")"
  t_ok "$SN: $name: the view of its top chain ID equals containerd 2.2's own unpack ($(tail -1 "$T_WORK/$SN.$name.cmp"))"
  [[ "${pm[0]}" == overlay ]] || return 0
  IFS=: read -ra pl <<<"$(tr , '\n' <<<"${pm[2]}" | sed -n 's/^lowerdir=//p')"
  IFS=: read -ra rl <<<"$(tr , '\n' <<<"${rv[2]}" | sed -n 's/^lowerdir=//p')"
  ((${#pl[@]} == ${#rl[@]} && ${#pl[@]} > 1)) || t_fail "$name: lowerdirs differ: ${pm[2]} / ${rv[2]}"
  for i in "${!pl[@]}"; do
    "$T_PY" "$T_LIB_DIR/treecmp.py" "${pl[i]}" "${rl[i]}" --ignore-whiteout-mtime >"$T_WORK/$SN.$name.$i.cmp" ||
      t_fail "$SN: $name: layer dir ${pl[i]} differs from containerd's ${rl[i]}: $(head -n 40 "$T_WORK/$SN.$name.$i.cmp")"
  done
  t_ok "$SN: $name: each of its ${#pl[@]} layer directories equals containerd's (whiteouts, opaque xattrs)"
}

# cri_remove REF: the kubelet's RemoveImage of REF (CRI, every name containerd
# keeps for the image: tag, repo digest, image id), then a synchronous GC (a
# lease created and deleted with --sync).
cri_remove() {
  local req="$T_WORK/rm-req.bin"
  "$T_PY" - "$1" "$req" <<'PY'
import sys
img = sys.argv[1].encode()
spec = b"\x0a" + bytes([len(img)]) + img      # ImageSpec.image = 1 (names < 128 bytes)
msg = b"\x0a" + bytes([len(spec)]) + spec     # RemoveImageRequest.image = 1
open(sys.argv[2], "wb").write(b"\x00" + len(msg).to_bytes(4, "big") + msg)
PY
  curl -sS --http2-prior-knowledge --unix-socket "$CRI_SOCK" -H 'Content-Type: application/grpc' -H 'TE: trailers' \
    --data-binary @"$req" -D "$T_WORK/rm-hdrs" -o /dev/null --max-time 60 \
    http://localhost/runtime.v1.ImageService/RemoveImage || t_fail "CRI RemoveImage of $1: curl failed"
  grep -qi '^grpc-status: 0' "$T_WORK/rm-hdrs" || t_fail "CRI RemoveImage of $1 failed: $(tr -d '\r' <"$T_WORK/rm-hdrs" | grep -i grpc-)"
  ctr_ images ls -q >"$T_WORK/images" || t_fail "ctr images ls failed"
  ! grep -F "${1%:*}" "$T_WORK/images" || t_fail "containerd still lists the names above after RemoveImage of $1"
  ctr_ leases create --id gc-now >/dev/null && ctr_ leases rm --sync gc-now || t_fail "a synchronous GC failed"
}

use() { # P|R: the CRI_* of the prefetched or the reference containerd
  local v from
  for v in CRI_PID CRI_SOCK CRI_ROOT CRI_LOG CRI_DIR; do
    from="${1}_${v#CRI_}"
    printf -v "$v" '%s' "${!from}"
  done
  CTR=("$CTD22_BIN/ctr" --address "$CRI_SOCK" --namespace k8s.io)
}
save() { # P|R: the current CRI_* saved as P_* or R_*
  local v
  for v in CRI_PID CRI_SOCK CRI_ROOT CRI_LOG CRI_DIR; do
    printf -v "${1}_${v#CRI_}" '%s' "${!v}"
  done
}

for SN in overlayfs native; do
  ip_containerd22_cri_start --snapshotter "$SN" --log-level debug --name "p-$SN" "$REG_MAIN_ADDR"
  save P
  [[ -z "$(snap_ls)" ]] || t_fail "a fresh containerd has snapshots"
  EXPECT=()
  prefetch main 4 0
  prefetch second 1 1
  [[ $(snap_ls | grep -c "^${CH_MAIN[0]} ") == 1 ]] || t_fail "the shared base is not one snapshot"
  t_ok "$SN: the shared base layer is one snapshot, found by the second prefetch, not applied again"

  # Fidelity: containerd 2.2's own unpack of the same images, elsewhere.
  ip_containerd22_cri_start --snapshotter "$SN" --log-level debug --name "r-$SN" "$REG_MAIN_ADDR"
  save R
  ip_cri_pull "$REF_MAIN" >/dev/null
  ip_cri_pull "$REF_SECOND" >/dev/null
  # What the log looks like when containerd applies layers (the base once).
  t_assert_eq "$(applied)" 5 "layers the reference containerd applied itself"
  for side in P R; do
    use "$side"
    ctr_ leases create --id test-views >/dev/null || t_fail "ctr leases create failed: $(tail -3 "$T_WORK/ctr.err")"
    view main "${CH_MAIN[3]}"
    view second "${CH_SECOND[1]}"
  done
  compare main
  compare second
  for side in R P; do
    use "$side"
    ctr_ leases rm --sync test-views >/dev/null || t_fail "ctr leases rm test-views failed: $(tail -3 "$T_WORK/ctr.err")"
  done
  use R
  ip_containerd22_cri_stop

  # GC: the second image goes, the first keeps every snapshot (its base
  # shared); then the first goes with its snapshots, directories and blobs.
  use P
  cri_remove "$REF_SECOND"
  snap_ls >"$T_WORK/snaps"
  printf '%s Committed\n' "${CH_MAIN[@]}" | sort >"$T_WORK/snaps.want"
  cmp -s "$T_WORK/snaps" "$T_WORK/snaps.want" ||
    t_fail "after removing the second image: $(diff "$T_WORK/snaps.want" "$T_WORK/snaps")"
  check_content main
  t_ok "$SN: removing the second image (GC) kept every snapshot of the first and freed its own"
  cri_remove "$REF_MAIN"
  [[ -z "$(snap_ls)" ]] || t_fail "snapshots left after removing both images: $(snap_ls)"
  sdir="$CRI_ROOT/io.containerd.snapshotter.v1.$SN/snapshots"
  t_wait_until 10 bash -c '[[ -z "$(ls -A "$1")" ]]' _ "$sdir" || t_fail "snapshot directories left: $(ls -A "$sdir")"
  [[ -z "$(ctr_ content ls -q)" ]] || t_fail "blobs left in containerd's content store: $(ctr_ content ls -q)"
  t_ok "$SN: removing the first image freed its snapshots, their directories and its blobs"
  ip_containerd22_cri_stop
done
t_pass
