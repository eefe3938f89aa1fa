#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The unpacker's overlay mode (unpack_layer with UNPACK_OVERLAY_UPPER, through
# the test driver overlay_apply): each layer of generated images applied into
# its own upper directory over the uppers before it, the uppers mounted
# (mount -t overlay, read-only, in a private mount namespace) and the merged
# view compared entry by entry (test/lib/treecmp.py: type, mode, owner,
# content, link target, device numbers, mtime, xattrs, hard-link groups) with
# `imgpull pull --unpack` of the same image from the registry. The images:
# whiteouts, an opaque directory, a directory replaced by a file and back and
# the reverse, a symbolic link replaced by a directory, a whited-out directory
# made again by a name under it, hard links across
# layers (to a file of two names, twice over, then one name whited out), a 1777
# tmp and a 0750 directory with xattrs that later layers add to without their
# entries, setuid and setgid, user xattrs, trusted.overlay.* xattrs carried by
# a layer (dropped), non-ASCII names; an opaque marker at the top. Directory
# mtimes: unpacking sets a directory's mtime when something is made in it, so
# they are compared where the layer that last changes a directory lists it
# (both modes then restore the entry's mtime), not elsewhere. The uppers
# themselves: whiteouts are c 0 0, opaque is trusted.overlay.opaque=y, no
# trusted.* from the layer. A name under a symbolic link or a file of a lower
# layer, a hard link out of the root and a ".." name fail with exit 6 naming the entry,
# as in the rootfs mode, and write nothing outside the upper. Then Debian's
# containerd 1.6 with its overlayfs snapshotter unpacks the first image (less
# what it cannot: hard links to a lower layer's file fail its unpack) through a
# CRI pull, and each of its snapshot directories equals the upper written here
# for the same layer.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
[[ $(id -u) == 0 ]] || t_fail "needs root (mknod, trusted.* xattrs, mount)"
[[ -x "${IMGPULL_OVERLAY_APPLY:-}" ]] || t_fail "IMGPULL_OVERLAY_APPLY is not set (ctest sets it to the overlay_apply driver)"
command -v zstd >/dev/null || t_fail "zstd is missing (scripts/deps.sh installs it)"
command -v containerd >/dev/null || t_fail "containerd is missing (scripts/deps.sh installs it)"
grep -qw overlay /proc/filesystems || modprobe overlay || t_fail "no overlay filesystem here"
t_registry_start MAIN

# build NAME SPEC: an OCI layout $T_WORK/NAME tagged v1 from the JSON layer SPEC
# (test/lib/fsimage.py), pushed to the registry as overlay/NAME:v1.
build() { ip_fs_image "$REG_MAIN_ADDR" "$1" "$2" "overlay/$1:v1"; }

# apply_layers NAME: each layer of $T_WORK/NAME applied by overlay_apply into
# $T_WORK/NAME.up/N over the uppers before it; OVL_LOWERDIR is the lowerdir=
# of them all (topmost first); OVL_RC the status of the last layer applied
# (the first that fails ends it), OVL_LOG its stderr.
apply_layers() {
  local lay="$T_WORK/$1" out="$T_WORK/$1.up" man cfg i=0 mt dg
  local -a diffs lowers=()
  man=$(jq -r '.manifests[0].digest' "$lay/index.json")
  cfg=$(jq -r '.config.digest' "$lay/blobs/sha256/${man#sha256:}")
  mapfile -t diffs < <(jq -r '.rootfs.diff_ids[]' "$lay/blobs/sha256/${cfg#sha256:}")
  rm -rf "$out"
  mkdir -p "$out"
  OVL_RC=0
  while read -r mt dg; do
    i=$((i + 1))
    mkdir "$out/$i"
    OVL_LOG="$out/$i.log"
    "$IMGPULL_OVERLAY_APPLY" -v "$out/$i" "$mt" "${diffs[i - 1]}" "$lay/blobs/sha256/${dg#sha256:}" "${lowers[@]}" \
      2>"$OVL_LOG" || { OVL_RC=$?; return 0; }
    lowers=("$out/$i" "${lowers[@]}")
  done < <(jq -r '.layers[] | "\(.mediaType) \(.digest)"' "$lay/blobs/sha256/${man#sha256:}")
  OVL_LOWERDIR=$(IFS=:; echo "${lowers[*]}")
}

# in_merged LOWERDIR CMD...: CMD run in a private mount namespace where the
# read-only overlay of LOWERDIR is mounted at $MNT (gone when it ends).
MNT="$T_WORK/mnt"
mkdir -p "$MNT"
in_merged() {
  local lowerdir=$1
  shift
  unshare -m --propagation private bash -c 'mount -t overlay overlay -o ro,lowerdir="$1" "$2" && shift 2 && "$@"' \
    _ "$lowerdir" "$MNT" "$@"
}

# compare NAME ROOTFS [DIR...]: the merged view of NAME's uppers equals ROOTFS
# (and the mtimes of the directories DIR agree).
compare() {
  local name=$1 rootfs=$2
  shift 2
  in_merged "$OVL_LOWERDIR" "$T_PY" "$T_LIB_DIR/treecmp.py" "$MNT" "$rootfs" --ignore .imgpull-unpacked \
    --ignore-xattr trusted.overlay. >"$T_WORK/$name.cmp" ||
    t_fail "$name: the merged view differs from pull --unpack's rootfs: $(head -n 40 "$T_WORK/$name.cmp")"
  t_ok "$name: merged view equals pull --unpack's rootfs ($(tail -1 "$T_WORK/$name.cmp"))"
  (($#)) || return 0
  in_merged "$OVL_LOWERDIR" "$T_PY" - "$MNT" "$rootfs" "$@" <<'PY' || t_fail "$name: directory mtimes differ"
import os, sys
merged, rootfs, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
bad = [(d, os.lstat(os.path.join(merged, d)).st_mtime_ns, os.lstat(os.path.join(rootfs, d)).st_mtime_ns)
       for d in dirs if os.lstat(os.path.join(merged, d)).st_mtime_ns != os.lstat(os.path.join(rootfs, d)).st_mtime_ns]
for b in bad:
    print("%s: merged %d, rootfs %d" % b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
  t_ok "$name: mtimes of $* agree"
}

# pull_rootfs NAME: imgpull pull --unpack of overlay/NAME:v1 into $T_WORK/NAME.rootfs.
pull_rootfs() {
  t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/$1.rootfs" \
    "$REG_MAIN_ADDR/overlay/$1:v1"
}

# ---- 1. every kind of change across four layers
build fs '[
 {"compression": "gzip", "entries": [
  {"name": "etc/", "type": "dir", "mode": 493},
  {"name": "etc/passwd", "type": "file", "data": "root:x:0:0::/root:/bin/sh\n", "mode": 420},
  {"name": "tmp/", "type": "dir", "mode": 1023},
  {"name": "usr/", "type": "dir"},
  {"name": "usr/bin/", "type": "dir"},
  {"name": "usr/bin/tool", "type": "file", "data": "#!/bin/sh\n", "mode": 2541, "uid": 0, "gid": 0},
  {"name": "usr/bin/alias", "type": "hardlink", "link": "usr/bin/tool"},
  {"name": "lnk", "type": "symlink", "link": "usr/bin"},
  {"name": "dev/", "type": "dir"},
  {"name": "dev/null", "type": "char", "major": 1, "minor": 3, "mode": 438},
  {"name": "run/", "type": "dir"},
  {"name": "run/fifo", "type": "fifo", "mode": 384},
  {"name": "data/", "type": "dir"},
  {"name": "data/attrs", "type": "file", "data": "x", "xattrs": {"user.imgpull": "yes"}},
  {"name": "data/shared", "type": "file", "data": "one file, two names", "mode": 416, "uid": 1000, "gid": 1000,
   "xattrs": {"user.shared": "1"}},
  {"name": "data/shared2", "type": "hardlink", "link": "data/shared"},
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
  {"name": "hostile/", "type": "dir"},
  {"name": "hostile/a", "type": "file", "data": "lower a"},
  {"name": "caf\u00e9/", "type": "dir", "mode": 448},
  {"name": "caf\u00e9/\u20ac", "type": "file", "data": "utf8"},
  {"name": "swap/", "type": "dir"},
  {"name": "swap/old", "type": "file", "data": "old"}
 ]},
 {"compression": "none", "entries": [
  {"name": "gone/.wh.file", "type": "file"},
  {"name": "opaque/", "type": "dir"},
  {"name": "opaque/.wh..wh..opq", "type": "file"},
  {"name": "opaque/new", "type": "file", "data": "upper"},
  {"name": "was-dir", "type": "file", "data": "now a file"},
  {"name": "was-file/", "type": "dir"},
  {"name": "was-file/y", "type": "file", "data": "y"},
  {"name": "tmp/x", "type": "file", "data": "under the 1777 tmp, without its entry"},
  {"name": "keep/b", "type": "file", "data": "b"},
  {"name": "keep/", "type": "dir", "mode": 488, "uid": 1000, "gid": 1000, "mtime": 1600000000},
  {"name": "keep/b2", "type": "file", "data": "made after the directory entry"},
  {"name": "usr/bin/again", "type": "hardlink", "link": "usr/bin/tool"},
  {"name": "etc/passwd", "type": "file", "data": "root:x:0:0::/root:/bin/bash\n", "mode": 384},
  {"name": "hostile/", "type": "dir", "xattrs": {"trusted.overlay.opaque": "y", "user.ok": "1"}},
  {"name": "hostile/b", "type": "file", "data": "b", "xattrs": {"trusted.overlay.redirect": "/etc"}},
  {"name": "caf\u00e9/n\u00e9", "type": "file", "data": "added without the directory entry"}
 ]},
 {"compression": "gzip", "entries": [
  {"name": "was-dir/", "type": "dir", "mode": 448},
  {"name": "was-dir/z", "type": "file", "data": "a directory again"},
  {"name": "was-file", "type": "file", "data": "a file again"},
  {"name": "usr/bin/third", "type": "hardlink", "link": "usr/bin/alias"},
  {"name": "data/ln", "type": "hardlink", "link": "data/shared2"},
  {"name": "opaque/b/", "type": "dir"},
  {"name": "opaque/b/d", "type": "file", "data": "d"},
  {"name": "keep/c", "type": "file", "data": "c"},
  {"name": ".wh.lnk", "type": "file"},
  {"name": "lnk/", "type": "dir"},
  {"name": "lnk/f", "type": "file", "data": "a directory where a link was"},
  {"name": "gone", "type": "file", "data": "a file where the directory was"},
  {"name": ".wh.swap", "type": "file"},
  {"name": "swap/new", "type": "file", "data": "under what was whited out, no directory entry"}
 ]},
 {"compression": "zstd", "entries": [
  {"name": "tmp/y", "type": "file", "data": "y"},
  {"name": "data/.wh.shared", "type": "file"},
  {"name": "setgid/", "type": "dir", "mode": 1517},
  {"name": "setgid/f", "type": "file", "data": "f"}
 ]}
]'
pull_rootfs fs
apply_layers fs
((OVL_RC == 0)) || t_fail "overlay_apply failed ($OVL_RC): $(cat "$OVL_LOG")"
compare fs "$T_WORK/fs.rootfs" dev run was-dir opaque/b lnk setgid
up="$T_WORK/fs.up"
# The uppers as containerd's applier writes them.
"$T_PY" - "$up" <<'PY' || t_fail "the uppers are not as containerd writes them"
import os, stat, sys
up = sys.argv[1]
def st(p):
    return os.lstat(os.path.join(up, p))
def whiteout(p):
    s = st(p)
    assert stat.S_ISCHR(s.st_mode) and s.st_rdev == 0 and stat.S_IMODE(s.st_mode) == 0, p
def xattrs(p):
    return {n: os.getxattr(os.path.join(up, p), n, follow_symlinks=False)
            for n in os.listxattr(os.path.join(up, p), follow_symlinks=False)}
whiteout("2/gone/file")
whiteout("4/data/shared")
assert xattrs("2/opaque") == {"trusted.overlay.opaque": b"y"}, xattrs("2/opaque")
assert xattrs("2/hostile") == {"user.ok": b"1"}, xattrs("2/hostile")     # trusted.* dropped
assert xattrs("2/hostile/b") == {}, xattrs("2/hostile/b")
assert stat.S_IMODE(st("2/tmp").st_mode) == 0o1777                        # mkparent from layer 1
assert stat.S_IMODE(st("4/tmp").st_mode) == 0o1777                        # ... and from 2's, made so
assert stat.S_IMODE(st("2/keep").st_mode) == 0o750 and st("2/keep").st_uid == 1000
assert xattrs("2/keep") == {"user.dir": b"kept"}
assert stat.S_IMODE(st("2/caf\u00e9").st_mode) == 0o700
assert stat.S_ISDIR(st("3/lnk").st_mode) and "trusted.overlay.opaque" not in xattrs("3/lnk")
assert st("2/usr/bin/again").st_ino == st("2/usr/bin/tool").st_ino == st("2/usr/bin/alias").st_ino
assert stat.S_IMODE(st("2/usr/bin/tool").st_mode) == 0o4755                # copied up, setuid kept
assert st("3/data/ln").st_ino == st("3/data/shared").st_ino == st("3/data/shared2").st_ino
assert not os.path.lexists(os.path.join(up, "1/.wh..wh..opq"))
for l in "1234":
    for d, _, files in os.walk(os.path.join(up, l)):
        for n in files:
            assert not n.startswith(".wh."), os.path.join(d, n)
PY
t_ok "uppers: whiteouts c 0 0, opaque marked, parents made from the lowers, no trusted.* from the layer, copy-ups linked"

# ---- 2. an opaque marker at the top (overlayfs ignores the attribute on the
# root: the lowers' names are whited out), a name it hid made again without its
# entry.
build top '[
 {"compression": "gzip", "entries": [
  {"name": "a/", "type": "dir"},
  {"name": "a/x", "type": "file", "data": "x"},
  {"name": "b", "type": "file", "data": "b"},
  {"name": "c", "type": "symlink", "link": "b"},
  {"name": "tmp/", "type": "dir", "mode": 1023}
 ]},
 {"compression": "gzip", "entries": [
  {"name": "keep", "type": "file", "data": "before the marker"},
  {"name": ".wh..wh..opq", "type": "file"},
  {"name": "later", "type": "file", "data": "after it"},
  {"name": "a/", "type": "dir", "mode": 448},
  {"name": "a/y", "type": "file", "data": "y"}
 ]},
 {"compression": "gzip", "entries": [
  {"name": "tmp/z", "type": "file", "data": "z"}
 ]}
]'
pull_rootfs top
apply_layers top
((OVL_RC == 0)) || t_fail "overlay_apply failed ($OVL_RC): $(cat "$OVL_LOG")"
compare top "$T_WORK/top.rootfs" a

# ---- 3. hostile layers: refused in both modes, nothing written outside.
out="$T_WORK/outside"
mkdir -p "$out"
echo keep >"$out/victim"
hostile() { # NAME ENTRY SPEC: layer 2 of NAME is refused naming ENTRY
  build "$1" "$3"
  apply_layers "$1"
  ((OVL_RC == 6)) || t_fail "$1: overlay_apply exited $OVL_RC, expected 6: $(cat "$OVL_LOG")"
  t_assert_file_contains "$OVL_LOG" "entry '$2' refused"
  t_expect_exit 6 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/$1.rootfs" \
    "$REG_MAIN_ADDR/overlay/$1:v1"
  t_assert_file_contains "$T_ERR" "entry '$2' refused"
  [[ "$(ls -A "$out")" == victim && "$(cat "$out/victim")" == keep ]] || t_fail "$1: something was written outside"
  t_ok "$1: '$2' refused with exit 6 by both modes, nothing outside"
}
hostile via-lower-link lnk/x '[
 {"compression": "none", "entries": [{"name": "lnk", "type": "symlink", "link": "'"$out"'"}]},
 {"compression": "none", "entries": [{"name": "lnk/x", "type": "file", "data": "escaped"}]}]'
hostile whiteout-via-link lnk/.wh.victim '[
 {"compression": "none", "entries": [{"name": "lnk", "type": "symlink", "link": "'"$out"'"}]},
 {"compression": "none", "entries": [{"name": "lnk/.wh.victim", "type": "file"}]}]'
hostile link-via-link hl '[
 {"compression": "none", "entries": [{"name": "lnk", "type": "symlink", "link": "'"$out"'"}]},
 {"compression": "none", "entries": [{"name": "hl", "type": "hardlink", "link": "lnk/victim"}]}]'
hostile link-out hl '[
 {"compression": "none", "entries": [{"name": "f", "type": "file", "data": "f"}]},
 {"compression": "none", "entries": [{"name": "hl", "type": "hardlink", "link": "../outside/victim"}]}]'
hostile under-a-file f/x '[
 {"compression": "none", "entries": [{"name": "f", "type": "file", "data": "f"}]},
 {"compression": "none", "entries": [{"name": "f/x", "type": "file", "data": "x"}]}]'
hostile dot-dot ../escape '[
 {"compression": "none", "entries": [{"name": "f", "type": "file", "data": "f"}]},
 {"compression": "none", "entries": [{"name": "../escape", "type": "file", "data": "x"}]}]'
[[ ! -e "$T_WORK/escape" ]] || t_fail "'../escape' was written"
[[ "$(ls -A "$T_WORK/via-lower-link.up/1")" == lnk ]] || t_fail "the lower was written"

# ---- 4. containerd 1.6's own unpack (overlayfs snapshotter, CRI pull) of the
# first image less what it cannot apply (hard links to a file of a lower layer
# fail its unpack; so does a name under a whiteout of the same layer), its hard links
# carrying their file's mode and owner as archive/tar writes them (containerd
# applies a hard link entry's mode and owner to the file, libarchive does not):
# each snapshot's fs equals the upper written here for that layer, whiteouts and
# opaque attributes included, and so do the mtimes of the layer's directories.
"$T_PY" - "$T_WORK/fs.json" >"$T_WORK/ctr.spec" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
files = {e["name"]: e for l in spec for e in l["entries"]}
for i, layer in enumerate(spec):
    keep = []
    for e in layer["entries"]:
        if e["name"].startswith("swap/new") or (e["type"] == "hardlink" and i > 0):
            continue
        if e["type"] == "hardlink":
            t = files[e["link"]]
            e.update({k: t[k] for k in ("mode", "uid", "gid", "mtime") if k in t})
        keep.append(e)
    layer["entries"] = keep
json.dump(spec, sys.stdout)
PY
build ctr "$(cat "$T_WORK/ctr.spec")"
apply_layers ctr
((OVL_RC == 0)) || t_fail "overlay_apply failed ($OVL_RC): $(cat "$OVL_LOG")"
ip_containerd_cri_start --snapshotter overlayfs "$REG_MAIN_ADDR"
ip_cri_pull "$REG_MAIN_ADDR/overlay/ctr:v1" >/dev/null
top=$("$T_PY" - "$T_WORK/ctr" <<'PY'
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
)
"${CTR[@]}" snapshots --snapshotter overlayfs view --mounts imgpull-cmp "$top" >"$T_WORK/ctr.mounts" ||
  t_fail "ctr snapshots view of $top failed"
IFS=: read -ra theirs <<<"$(jq -r '.[0].Options[] | select(startswith("lowerdir=")) | sub("^lowerdir="; "")' "$T_WORK/ctr.mounts")"
n=$(jq length "$T_WORK/ctr.spec")
((${#theirs[@]} == n)) || t_fail "containerd's view has ${#theirs[@]} layers, expected $n: $(cat "$T_WORK/ctr.mounts")"
for ((i = 1; i <= n; i++)); do
  fs=${theirs[n - i]}
  [[ "$fs" == "$CRI_ROOT/io.containerd.snapshotter.v1.overlayfs/snapshots/"*/fs ]] || t_fail "unexpected lowerdir $fs"
  "$T_PY" "$T_LIB_DIR/treecmp.py" "$T_WORK/ctr.up/$i" "$fs" --ignore-whiteout-mtime >"$T_WORK/ctr.$i.cmp" ||
    t_fail "layer $i: the upper differs from containerd's $fs: $(head -n 40 "$T_WORK/ctr.$i.cmp")"
  "$T_PY" - "$T_WORK/ctr.spec" "$i" "$T_WORK/ctr.up/$i" "$fs" <<'PY' || t_fail "layer $i: directory mtimes differ from containerd's"
import json, os, sys
spec, i, ours, theirs = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3], sys.argv[4]
dirs = [e["name"].rstrip("/") for e in spec[i - 1]["entries"] if e["type"] == "dir"]
bad = [d for d in dirs if os.lstat(os.path.join(ours, d)).st_mtime_ns != os.lstat(os.path.join(theirs, d)).st_mtime_ns]
if bad:
    print("\n".join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
  t_ok "layer $i: the upper equals containerd's snapshot ($(tail -1 "$T_WORK/ctr.$i.cmp")), directory mtimes too"
done

t_pass
