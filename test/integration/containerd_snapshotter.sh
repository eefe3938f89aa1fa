#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# pull --containerd unpacks the layers into containerd's snapshotter while they
# download (issue 19), against Debian's real containerd 1.6 (a private daemon,
# CRI plugin, debug log), for the overlayfs and then the native snapshotter,
# found by imgpull through the CRI (no --snapshotter). The images come from a
# docker-registry whose blobs an nginx serves (its access log counts them).
# Runs in about 25 s (30 s under ASan).
# 1. An image of generated layers (whiteouts, an opaque directory, a file
#    made a directory and a file again and the reverse, a 1777 tmp and a 0700
#    non-ASCII directory that later layers add to without their entries,
#    setuid and setgid files, hard links inside a layer (one whose entry has
#    another mode, owner, mtime and xattr, which containerd applies to the
#    file), user xattrs, long and non-ASCII names, devices, a FIFO, a link
#    replaced by a directory): imgpull exits 0 and containerd applied none of
#    it (no "diff applied" in its log);
#    each chain ID (from the config's diff_ids) is a committed snapshot on its
#    parent; no snapshot key and no lease of imgpull's ("imgpull-") is left;
#    every blob is in the content store, the layers labelled
#    containerd.io/uncompressed=<diff_id>, the config gc.ref.snapshot=<top>.
# 2. A CRI PullImage sent by the test then asks no blob of the registry or the
#    store, and applies nothing: the snapshot list is the same before and after,
#    and containerd's log shows no layer applied and no snapshot prepared or
#    committed (a second containerd's own pull, below, logs both: the check can
#    fail).
# 3. Fidelity: a second containerd on a fresh root unpacks the image itself
#    (CRI pull); the root filesystems of the top chain ID in both (overlayfs:
#    the snapshots' directories, found through the snapshotter's own bolt
#    database, mounted read-only in a private mount namespace; native: the top
#    snapshot's directory) are equal entry by entry (test/lib/treecmp.py: type,
#    mode, owner, content, link target, device, xattrs, hard-link groups, the
#    mtimes of all but directories).
# 4. A hard link to a lower layer's file (containerd's own overlayfs unpack
#    fails on it): imgpull unpacks it (copied up) and the root filesystem equals
#    `imgpull pull --unpack` of the image.
# 5. Hostile layers (an entry "../escape"; a symbolic link out of the root
#    then a file through it; a hard link out of the root), each in layer 2 of
#    3: exit 6 naming the entry, nothing written outside the snapshot
#    directories, no committed snapshot for that layer or above, no key or
#    lease of imgpull's left.
# 6. Killed (SIGKILL) while layer 2 of an image is being unpacked from a
#    rate-capped store (an active key and a lease of imgpull's exist then), then
#    run again: exit 0, every chain ID committed on its parent, the result equal
#    to `pull --unpack`, no key or lease of imgpull's left.
# 7. Garbage collection: another image pulled by the CRI and removed, then a
#    collection: every snapshot and blob of the prefetched image stays (the other
#    image's snapshot goes: the collection ran); the prefetched image removed, a
#    collection: its snapshots, their directories and its blobs are gone.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
[[ $(id -u) == 0 ]] || t_fail "needs root (containerd, mount)"
command -v containerd >/dev/null || t_fail "containerd is missing (scripts/deps.sh installs it)"
command -v unshare >/dev/null || t_fail "unshare is missing (util-linux)"
grep -qw overlay /proc/filesystems || modprobe overlay || t_fail "no overlay filesystem here"

ip_redirect_setup S3 MAIN
# The same images through a store capped per connection (for the kill).
ip_redirect_setup SLOW SLOWREG --rate 2m

# build NAME SPEC: an OCI layout $T_WORK/NAME tagged v1 from the JSON layer SPEC
# (test/lib/fsimage.py), pushed as snap/NAME:v1.
build() { ip_fs_image "$REG_MAIN_ADDR" "$1" "$2" "snap/$1:v1"; }
# ids NAME: CHAIN (chain IDs, bottom first), DIFFS, LAYERS (digests), CONFIG and
# MANIFEST of image NAME as the registry serves it (skopeo compressed the plain
# tar layers when it pushed them).
ids() {
  local lay="$T_WORK/$1"
  t_inspect "$REG_MAIN_ADDR" "snap/$1:v1" --raw >"$T_WORK/$1.manifest" || t_fail "skopeo inspect snap/$1:v1 failed"
  MANIFEST=$(t_sha256 "$T_WORK/$1.manifest")
  CONFIG=$(jq -r '.config.digest' "$T_WORK/$1.manifest")
  mapfile -t LAYERS < <(jq -r '.layers[].digest' "$T_WORK/$1.manifest")
  [[ -f "$lay/blobs/sha256/${CONFIG#sha256:}" ]] || t_fail "$1: the registry's config $CONFIG is not the one made"
  mapfile -t DIFFS < <(jq -r '.rootfs.diff_ids[]' "$lay/blobs/sha256/${CONFIG#sha256:}")
  mapfile -t CHAIN < <(ip_chain_ids "$lay")
  ((${#CHAIN[@]} > 0 && ${#CHAIN[@]} == ${#LAYERS[@]} && ${#DIFFS[@]} == ${#LAYERS[@]})) ||
    t_fail "$1: ${#CHAIN[@]} chain IDs, ${#DIFFS[@]} diff_ids, ${#LAYERS[@]} layers"
}

long=$(printf 'n%.0s' {1..150})
build fid '[
 {"compression": "gzip", "entries": [
  {"name": "etc/", "type": "dir", "mode": 493},
  {"name": "etc/passwd", "type": "file", "data": "root:x:0:0::/root:/bin/sh\n", "mode": 420},
  {"name": "tmp/", "type": "dir", "mode": 1023},
  {"name": "usr/", "type": "dir"},
  {"name": "usr/bin/", "type": "dir"},
  {"name": "usr/bin/tool", "type": "file", "data": "#!/bin/sh\n", "mode": 2541},
  {"name": "usr/bin/alias", "type": "hardlink", "link": "usr/bin/tool", "mode": 2541},
  {"name": "usr/bin/sgid", "type": "file", "data": "sgid", "mode": 1517, "gid": 50},
  {"name": "usr/lib/", "type": "dir"},
  {"name": "usr/lib/libx.so.1", "type": "file", "data": "ELF", "mode": 493, "uid": 1000, "gid": 1000},
  {"name": "usr/lib/libx.so", "type": "symlink", "link": "libx.so.1"},
  {"name": "lnk", "type": "symlink", "link": "usr/bin"},
  {"name": "abs", "type": "symlink", "link": "/etc/passwd"},
  {"name": "dev/", "type": "dir"},
  {"name": "dev/null", "type": "char", "major": 1, "minor": 3, "mode": 438},
  {"name": "run/", "type": "dir"},
  {"name": "run/fifo", "type": "fifo", "mode": 384},
  {"name": "deep/", "type": "dir"},
  {"name": "deep/'"$long"'/", "type": "dir"},
  {"name": "deep/'"$long"'/'"$long"'.txt", "type": "file", "data": "long names"},
  {"name": "data/", "type": "dir"},
  {"name": "data/caf\u00e9-\u20ac.txt", "type": "file", "data": "utf8"},
  {"name": "data/attrs", "type": "file", "data": "x", "xattrs": {"user.imgpull": "yes"}},
  {"name": "data/shared", "type": "file", "data": "one file, two names", "mode": 416, "uid": 1000, "gid": 1000,
   "xattrs": {"user.shared": "1"}},
  {"name": "data/shared2", "type": "hardlink", "link": "data/shared", "mode": 384, "mtime": 1600000000,
   "xattrs": {"user.link": "2"}},
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
  {"name": "caf\u00e9/\u20ac", "type": "file", "data": "utf8"}
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
  {"name": "caf\u00e9/n\u00e9", "type": "file", "data": "added without the directory entry"},
  {"name": "etc/passwd", "type": "file", "data": "root:x:0:0::/root:/bin/bash\n", "mode": 384},
  {"name": "usr/bin/suid", "type": "file", "data": "suid", "mode": 2505},
  {"name": "data/attrs2", "type": "file", "data": "y", "xattrs": {"user.a": "1", "user.b": "two"}}
 ]},
 {"compression": "gzip", "entries": [
  {"name": "was-dir/", "type": "dir", "mode": 448},
  {"name": "was-dir/z", "type": "file", "data": "a directory again"},
  {"name": "was-file", "type": "file", "data": "a file again"},
  {"name": "opaque/b/", "type": "dir"},
  {"name": "opaque/b/d", "type": "file", "data": "d"},
  {"name": "keep/c", "type": "file", "data": "c"},
  {"name": ".wh.lnk", "type": "file"},
  {"name": "lnk/", "type": "dir"},
  {"name": "lnk/f", "type": "file", "data": "a directory where a link was"},
  {"name": "gone", "type": "file", "data": "a file where the directory was"},
  {"name": "tmp/y", "type": "file", "data": "y"},
  {"name": "data/.wh.shared", "type": "file"},
  {"name": "setgid/", "type": "dir", "mode": 1517},
  {"name": "setgid/f", "type": "file", "data": "f"}
 ]}
]'
ids fid
fid_chain=("${CHAIN[@]}") fid_diffs=("${DIFFS[@]}") fid_layers=("${LAYERS[@]}")
fid_config=$CONFIG fid_manifest=$MANIFEST

# A hard link to a file of the layer below (and one to that link).
build xlink '[
 {"compression": "gzip", "entries": [
  {"name": "a/", "type": "dir"},
  {"name": "a/file", "type": "file", "data": "linked across layers", "mode": 493, "uid": 1000, "gid": 1000,
   "xattrs": {"user.x": "1"}},
  {"name": "a/other", "type": "file", "data": "other"}
 ]},
 {"compression": "gzip", "entries": [
  {"name": "a/link", "type": "hardlink", "link": "a/file", "mode": 493, "uid": 1000, "gid": 1000},
  {"name": "b", "type": "file", "data": "b"}
 ]},
 {"compression": "none", "entries": [
  {"name": "c/", "type": "dir"},
  {"name": "c/link2", "type": "hardlink", "link": "a/link", "mode": 493, "uid": 1000, "gid": 1000}
 ]}
]'

# Hostile images: layer 2 of 3 escapes; each image's layer 1 differs.
out="$T_WORK/outside"
mkdir -p "$out"
echo keep >"$out/victim"
up=$(printf '../%.0s' {1..24})
hostile_spec() { # N ENTRIES: a hostile image spec, layer 2 holding ENTRIES
  printf '[{"compression": "gzip", "entries": [{"name": "base%s", "type": "file", "data": "%s"}]},
 {"compression": "none", "entries": [{"name": "ok", "type": "file", "data": "ok"}, %s]},
 {"compression": "gzip", "entries": [{"name": "above", "type": "file", "data": "above"}]}]' "$1" "$1" "$2"
}
build dotdot "$(hostile_spec 1 '{"name": "../escape", "type": "file", "data": "escaped"}')"
build symlink "$(hostile_spec 2 '{"name": "lnk", "type": "symlink", "link": "'"${up}${out#/}"'"},
  {"name": "lnk/escape", "type": "file", "data": "escaped"}')"
build hardlink "$(hostile_spec 3 '{"name": "hl", "type": "hardlink", "link": "'"${up}${out#/}"'/victim"}')"

# Killed while its second layer unpacks: 12 MB at 2 MiB/s per connection.
build slow '[{"compression": "gzip", "entries": [{"name": "first/a.bin", "type": "file", "random": 1000000}]},
  {"compression": "gzip", "entries": [{"name": "second/b.bin", "type": "file", "random": 12000000},
   {"name": "second/after", "type": "file", "data": "last"}]}]'

t_make_image "$T_WORK/other" v1 --layer 200K --seed 9
other_chain=$T_IMG_DIFF_IDS
t_push "$T_WORK/other" v1 "$REG_MAIN_ADDR" snap/other:v1

MNT_A="$T_WORK/mnt-a"
MNT_B="$T_WORK/mnt-b"
mkdir -p "$MNT_A" "$MNT_B"

# snaps FILE: containerd's snapshot list ($SN), "KEY|PARENT|KIND" a line, sorted.
snaps() {
  "${CTR[@]}" snapshots --snapshotter "$SN" ls >"$1.raw" || t_fail "ctr snapshots ls failed"
  tail -n +2 "$1.raw" | sed -E 's/^(.*[^ ]) +(sha256:[0-9a-f]{64}|) +(Active|Committed|View) *$/\1|\2|\3/' |
    sort >"$1"
}
# committed WHAT CHAIN...: each chain ID is committed on the one before.
committed() {
  local what=$1 i parent=""
  shift
  snaps "$T_WORK/snaps"
  for ((i = 1; i <= $#; i++)); do
    grep -qxF "${!i}|$parent|Committed" "$T_WORK/snaps" ||
      t_fail "$SN: $what: chain ID $i (${!i}) is not committed on '$parent':
$(cat "$T_WORK/snaps")"
    parent=${!i}
  done
}
# not_committed WHAT CHAIN...: none of them is a snapshot.
not_committed() {
  local what=$1 c
  shift
  snaps "$T_WORK/snaps"
  for c in "$@"; do
    ! grep -q "^$c|" "$T_WORK/snaps" || t_fail "$SN: $what: $c is a snapshot: $(grep "^$c|" "$T_WORK/snaps")"
  done
}
# clean WHAT: no snapshot key and no lease of imgpull's.
clean() {
  snaps "$T_WORK/snaps"
  ! grep -q '^imgpull-' "$T_WORK/snaps" ||
    t_fail "$SN: $1: snapshots of imgpull's left: $(grep '^imgpull-' "$T_WORK/snaps")"
  "${CTR[@]}" leases ls -q >"$T_WORK/leases" || t_fail "ctr leases ls failed"
  ! grep -q '^imgpull-' "$T_WORK/leases" || t_fail "$SN: $1: leases of imgpull's left: $(cat "$T_WORK/leases")"
}
# log_mark: the number of lines in containerd's log now; log_since MARK: the lines after.
log_mark() { wc -l <"$CRI_LOG"; }
log_since() { tail -n +"$(($1 + 1))" "$CRI_LOG"; }
# applied MARK: lines of containerd's log since MARK that show it applying or preparing.
applied() { log_since "$1" | grep -E 'diff applied|topic=/snapshot/(prepare|commit)|extract-' || true; }
# blob_reqs: blob requests the registries and the stores have seen so far.
blob_reqs() {
  cat "$REG_MAIN_LOG" "$REG_SLOWREG_LOG" | grep -c '/blobs/sha256:' || true
  cat "$BLOB_S3_LOG" "$BLOB_SLOW_LOG" | grep -c '/data HTTP' || true
}
# prefetch NAME [REGISTRY_ADDR]: imgpull pull --containerd of snap/NAME:v1 (exit 0 expected
# unless RC is set), layout in $T_WORK/layout-$SN.
prefetch() {
  local reg=${2:-$REG_MAIN_ADDR}
  t_expect_exit "${RC:-0}" "$IMGPULL" pull --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" \
    --plain-http "$REG_MAIN_ADDR" --plain-http "$REG_SLOWREG_ADDR" --dest "$T_WORK/layout-$SN" --progress none \
    "$reg/snap/$1:v1"
}
# view CHAIN...: VIEW, the root filesystem of the top of CHAIN in this containerd,
# for in_views: ovl:LOWERDIRS (overlayfs, top first) or dir:DIR (native); DIRS,
# the snapshots' directories.
view() {
  local sroot="$CRI_ROOT/io.containerd.snapshotter.v1.$SN" found i lower=""
  found=$(ip_snapshot_dir "$sroot" "$@") || t_fail "$SN: the snapshots of $* are not all committed"
  mapfile -t DIRS <<<"$found"
  ((${#DIRS[@]} == $#)) || t_fail "$SN: ${#DIRS[@]} directories for $# snapshots"
  if [[ $SN == native ]]; then
    VIEW="dir:${DIRS[-1]}"
    return
  fi
  for ((i = ${#DIRS[@]} - 1; i >= 0; i--)); do
    lower+="${lower:+:}${DIRS[i]}/fs"
  done
  VIEW="ovl:$lower"
}
# in_views VIEW_A VIEW_B CMD...: CMD run in a private mount namespace where each
# ovl: view is mounted read-only (at $MNT_A, $MNT_B); @A@ and @B@ in CMD stand for
# their root directories.
in_views() {
  unshare -m --propagation private bash -c '
    set -e
    at() { if [[ $1 == ovl:* ]]; then mount -t overlay overlay -o "ro,lowerdir=${1#ovl:}" "$2"; echo "$2"; else echo "${1#dir:}"; fi; }
    a=$(at "$1" "$3")
    b=$(at "$2" "$4")
    shift 4
    cmd=()
    for x in "$@"; do x=${x//@A@/$a}; cmd+=("${x//@B@/$b}"); done
    exec "${cmd[@]}"' _ "$1" "$2" "$MNT_A" "$MNT_B" "${@:3}"
}
# same_tree WHAT VIEW_A VIEW_B [TREECMP ARGS]: the two root filesystems are equal.
same_tree() {
  local what=$1 va=$2 vb=$3
  shift 3
  in_views "$va" "$vb" "$T_PY" "$T_LIB_DIR/treecmp.py" @A@ @B@ "$@" >"$T_WORK/cmp.out" 2>&1 ||
    t_fail "$SN: $what:
$(head -n 60 "$T_WORK/cmp.out")"
  t_ok "$SN: $what ($(tail -n 1 "$T_WORK/cmp.out"))"
}
# rm_image REF CONFIG: every name of the image (tag, repo digest, id) removed, then a collection.
rm_image() {
  local ref=$1 n names=()
  "${CTR[@]}" images ls -q >"$T_WORK/images" || t_fail "ctr images ls failed"
  while read -r n; do
    [[ $n == "$ref" || $n == "${ref%:*}@sha256:"* || $n == "$2" ]] && names+=("$n")
  done <"$T_WORK/images"
  ((${#names[@]})) || t_fail "$SN: no image named $ref: $(cat "$T_WORK/images")"
  "${CTR[@]}" images rm --sync "${names[@]}" >/dev/null || t_fail "$SN: ctr images rm ${names[*]} failed"
  gc
}
# gc: a synchronous garbage collection (a throwaway lease deleted with --sync).
gc() {
  "${CTR[@]}" leases create --id test-gc >/dev/null || t_fail "ctr leases create failed"
  "${CTR[@]}" leases rm --sync test-gc >/dev/null || t_fail "ctr leases rm --sync failed"
}

run_snapshotter() {
  SN=$1
  local ref="$REG_MAIN_ADDR/snap/fid:v1" mark n i before d
  ip_containerd_cri_run "ctd-$SN" --snapshotter "$SN" --log-level debug "$REG_MAIN_ADDR" "$REG_SLOWREG_ADDR"
  local a_sock=$CRI_SOCK a_root=$CRI_ROOT a_log=$CRI_LOG a_pid=$CRI_PID

  # ---- 1. the prefetch
  mark=$(log_mark)
  prefetch fid
  t_assert_file_contains "$T_ERR" "^containerd: $ref -> $fid_config" "$SN: imgpull reports containerd's image id"
  t_assert_eq "$(applied "$mark" | grep -c 'diff applied' || true)" 0 \
    "$SN: layers containerd applied itself during the prefetch"
  committed "after the prefetch" "${fid_chain[@]}"
  clean "after the prefetch"
  "${CTR[@]}" content ls >"$T_WORK/content" || t_fail "ctr content ls failed"
  for ((i = 0; i < ${#fid_layers[@]}; i++)); do
    grep "^${fid_layers[i]}[[:space:]]" "$T_WORK/content" | grep -qF "containerd.io/uncompressed=${fid_diffs[i]}" ||
      t_fail "$SN: layer ${fid_layers[i]} not listed with containerd.io/uncompressed=${fid_diffs[i]}:
$(cat "$T_WORK/content")"
  done
  grep "^${fid_config}[[:space:]]" "$T_WORK/content" |
    grep -qF "containerd.io/gc.ref.snapshot.$SN=${fid_chain[-1]}" ||
    t_fail "$SN: the config does not reference the top snapshot: $(cat "$T_WORK/content")"
  grep -q "^${fid_manifest}[[:space:]]" "$T_WORK/content" || t_fail "$SN: the manifest is not in the content store"
  t_ok "$SN: prefetched: ${#fid_chain[@]} chain IDs committed on their parents, nothing applied by containerd," \
    "no key or lease of imgpull's left, blobs registered and labelled"

  # ---- 2. the kubelet's pull: no blob asked for, nothing applied
  snaps "$T_WORK/snaps-before"
  before=$(blob_reqs)
  mark=$(log_mark)
  t_assert_eq "$(ip_cri_pull "$ref")" "$fid_config" "$SN: the CRI pull's image id"
  t_assert_eq "$(blob_reqs)" "$before" "$SN: blob requests (registries; stores) during the CRI pull"
  snaps "$T_WORK/snaps-after"
  diff "$T_WORK/snaps-before" "$T_WORK/snaps-after" >/dev/null ||
    t_fail "$SN: the snapshots changed during the CRI pull: $(diff "$T_WORK/snaps-before" "$T_WORK/snaps-after")"
  [[ -z "$(applied "$mark")" ]] || t_fail "$SN: containerd applied or prepared during the CRI pull: $(applied "$mark")"
  t_assert_file_contains "$CRI_LOG" 'image unpacked.*chainID="'"${fid_chain[-1]}"'"' \
    "$SN: containerd's unpacker found the top chain ID"
  t_ok "$SN: the CRI pull fetched no blob and applied nothing"

  # ---- 2b. a layer whose snapshot is committed is neither fetched nor applied: a
  # second prefetch into a layout of its own asks for the config alone.
  local reg_before s3_before
  sleep 1 # the registry writes its log lines a moment after the answers
  reg_before=$(wc -l <"$REG_MAIN_LOG")
  s3_before=$(wc -l <"$BLOB_S3_LOG")
  mark=$(log_mark)
  t_expect_exit 0 "$IMGPULL" pull --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" \
    --plain-http "$REG_MAIN_ADDR" --dest "$T_WORK/layout2-$SN" --progress none "$ref"
  sleep 1
  { tail -n +"$((reg_before + 1))" "$REG_MAIN_LOG"; tail -n +"$((s3_before + 1))" "$BLOB_S3_LOG"; } >"$T_WORK/again.log"
  for d in "${fid_layers[@]}"; do
    ! grep -qF "${d#sha256:}" "$T_WORK/again.log" || t_fail "$SN: layer $d was fetched again: $(grep -F "${d#sha256:}" "$T_WORK/again.log")"
  done
  t_assert_file_contains "$T_WORK/again.log" "${fid_config#sha256:}" "$SN: the config was asked for"
  [[ -z "$(applied "$mark")" ]] || t_fail "$SN: something was applied during the second prefetch: $(applied "$mark")"
  snaps "$T_WORK/snaps-again"
  diff "$T_WORK/snaps-after" "$T_WORK/snaps-again" >/dev/null ||
    t_fail "$SN: the snapshots changed during the second prefetch: $(diff "$T_WORK/snaps-after" "$T_WORK/snaps-again")"
  t_ok "$SN: a second prefetch fetched the config alone and applied nothing"
  view "${fid_chain[@]}"
  local ours=$VIEW fid_dirs=("${DIRS[@]}")

  # ---- 3. fidelity: containerd's own unpack in a second containerd
  ip_containerd_cri_run "ref-$SN" --snapshotter "$SN" --log-level debug "$REG_MAIN_ADDR"
  local b_pid=$CRI_PID theirs
  mark=$(log_mark)
  ip_cri_pull "$ref" >/dev/null
  n=$(applied "$mark" | grep -c 'diff applied' || true)
  t_assert_eq "$n" "${#fid_chain[@]}" "$SN: layers the second containerd applied itself (the log check sees them)"
  view "${fid_chain[@]}"
  theirs=$VIEW
  same_tree "the prefetched root filesystem equals containerd's own unpack" "$ours" "$theirs"
  # treecmp compares xattrs; assert one on its own too, so that two sides dropping it cannot agree.
  in_views "$ours" "$theirs" "$T_PY" -c 'import os, sys; sys.exit(os.getxattr(sys.argv[1], "user.imgpull") != b"yes")' \
    @A@/data/attrs || t_fail "$SN: the user.imgpull xattr of data/attrs was not kept"
  in_views "$ours" "$theirs" test -u @A@/usr/bin/suid -a -k @A@/tmp -a -f @A@/tmp/x -a -f @A@/was-file -a -d @A@/was-dir ||
    t_fail "$SN: setuid, 1777 tmp or the type changes are not in the prefetched view"
  t_stop "$b_pid"
  rm -rf "$T_WORK/ref-$SN"
  CRI_SOCK=$a_sock CRI_ROOT=$a_root CRI_LOG=$a_log CRI_PID=$a_pid
  CTR=(ctr --address "$CRI_SOCK" --namespace k8s.io)

  # ---- 4. a hard link to a lower layer's file: copied up; equals pull --unpack
  ids xlink
  prefetch xlink
  committed "hard links across layers" "${CHAIN[@]}"
  clean "hard links across layers"
  t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/xlink-$SN.rootfs" \
    "$REG_MAIN_ADDR/snap/xlink:v1"
  view "${CHAIN[@]}"
  same_tree "hard links across layers: equal to pull --unpack" "$VIEW" "dir:$T_WORK/xlink-$SN.rootfs" \
    --ignore .imgpull-unpacked
  in_views "$VIEW" "dir:/" test @A@/a/link -ef @A@/c/link2 ||
    t_fail "$SN: a/link and c/link2 are not one file"

  # ---- 5. hostile layers
  local h entry
  for h in dotdot:../escape symlink:lnk/escape hardlink:hl; do
    entry=${h#*:}
    h=${h%%:*}
    ids "$h"
    RC=6 prefetch "$h"
    t_assert_file_contains "$T_ERR" "'$entry'" "$SN: $h: the error names the entry"
    not_committed "$h" "${CHAIN[1]}" "${CHAIN[2]}"
    clean "$h"
    [[ "$(ls -A "$out")" == victim && "$(cat "$out/victim")" == keep && "$(stat -c %h "$out/victim")" == 1 ]] ||
      t_fail "$SN: $h: something was written outside: $(ls -lA "$out")"
    [[ -z "$(find "$T_WORK" -name escape)" ]] || t_fail "$SN: $h: written outside: $(find "$T_WORK" -name escape)"
    t_ok "$SN: $h: '$entry' refused with exit 6, nothing outside, nothing committed from layer 2 up"
  done

  # ---- 6. killed while layer 2 unpacks, then run again
  ids slow
  local slow_chain=("${CHAIN[@]}") pid
  "$IMGPULL" pull --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" --plain-http "$REG_SLOWREG_ADDR" \
    --dest "$T_WORK/layout-$SN" --progress none --connections 2 --chunk-size 4M \
    "$REG_SLOWREG_ADDR/snap/slow:v1" >"$T_WORK/killed.out" 2>&1 &
  pid=$!
  # shellcheck disable=SC2317
  unpacking() {
    snaps "$T_WORK/snaps"
    grep -qE "^imgpull-.*\|${slow_chain[0]}\|Active$" "$T_WORK/snaps"
  }
  t_wait_until 30 unpacking || t_fail "$SN: layer 2 never became an active snapshot of imgpull's:
$(cat "$T_WORK/snaps"; tail -n 20 "$T_WORK/killed.out")"
  kill -KILL "$pid"
  { wait "$pid"; } 2>/dev/null || true
  not_committed "killed" "${slow_chain[1]}"
  "${CTR[@]}" leases ls -q >"$T_WORK/leases"
  grep -q '^imgpull-' "$T_WORK/leases" || t_fail "$SN: no lease of imgpull's held the killed pull's snapshots"
  RC=0 prefetch slow "$REG_SLOWREG_ADDR"
  committed "rerun after SIGKILL" "${slow_chain[@]}"
  clean "rerun after SIGKILL"
  t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/slow-$SN.rootfs" \
    "$REG_MAIN_ADDR/snap/slow:v1"
  view "${slow_chain[@]}"
  same_tree "killed mid-unpack and run again: equal to pull --unpack" "$VIEW" \
    "dir:$T_WORK/slow-$SN.rootfs" --ignore .imgpull-unpacked

  # ---- 7. garbage collection
  ip_cri_pull "$REG_MAIN_ADDR/snap/other:v1" >/dev/null
  committed "the other image" "$other_chain"
  rm_image "$REG_MAIN_ADDR/snap/other:v1" "$(jq -r .config.digest "$T_WORK/other/blobs/sha256/$(jq -r '.manifests[0].digest' "$T_WORK/other/index.json" | cut -d: -f2)")"
  not_committed "the other image removed and collected" "$other_chain"
  committed "another image collected" "${fid_chain[@]}"
  for d in "${fid_dirs[@]}"; do
    [[ -d "$d" ]] || t_fail "$SN: $d is gone after collecting another image"
  done
  "${CTR[@]}" content ls -q >"$T_WORK/content"
  for d in "${fid_layers[@]}" "$fid_config" "$fid_manifest"; do
    grep -qxF "$d" "$T_WORK/content" || t_fail "$SN: $d went when another image was collected"
  done
  t_ok "$SN: collecting another image keeps the prefetched one's snapshots and blobs"
  rm_image "$ref" "$fid_config"
  not_committed "the prefetched image removed and collected" "${fid_chain[@]}"
  for d in "${fid_dirs[@]}"; do
    [[ ! -e "$d" ]] || t_fail "$SN: $d stayed after the image was removed and collected"
  done
  "${CTR[@]}" content ls -q >"$T_WORK/content"
  for d in "${fid_layers[@]}" "$fid_config" "$fid_manifest"; do
    ! grep -qxF "$d" "$T_WORK/content" || t_fail "$SN: $d stayed after the image was removed and collected"
  done
  t_ok "$SN: removing the prefetched image frees its snapshots, their directories and its blobs"
  t_stop "$CRI_PID"
}

run_snapshotter overlayfs
run_snapshotter native

# ---- fallback: where imgpull cannot write the snapshots, containerd's CRI pull
# unpacks, and the prefetch still succeeds: --snapshotter none, and a process
# without CAP_SYS_ADMIN (overlayfs's trusted.overlay.opaque takes it).
SN=overlayfs
ref="$REG_MAIN_ADDR/snap/fid:v1"
ip_containerd_cri_run "fallback" --snapshotter overlayfs --log-level debug "$REG_MAIN_ADDR"
ids fid
for how in none nocap; do
  mark=$(log_mark)
  if [[ $how == none ]]; then
    t_expect_exit 0 "$IMGPULL" pull --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" \
      --plain-http "$REG_MAIN_ADDR" --dest "$T_WORK/layout-fb-$how" --progress none --snapshotter none "$ref"
  else
    t_expect_exit 0 setpriv --bounding-set -sys_admin --inh-caps -sys_admin "$IMGPULL" pull \
      --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" --plain-http "$REG_MAIN_ADDR" \
      --dest "$T_WORK/layout-fb-$how" --progress none "$ref"
    t_assert_file_contains "$T_ERR" "takes CAP_SYS_ADMIN, which this process lacks: leaving the unpack to containerd" \
      "without CAP_SYS_ADMIN: the reason is said"
  fi
  n=$(applied "$mark" | grep -c 'diff applied' || true)
  t_assert_eq "$n" "${#CHAIN[@]}" "$how: layers containerd applied itself"
  committed "fallback ($how)" "${CHAIN[@]}"
  clean "fallback ($how)"
  t_ok "fallback ($how): exit 0, containerd unpacked the ${#CHAIN[@]} layers itself"
  rm_image "$ref" "$CONFIG"
done
t_stop "$CRI_PID"
t_pass
