#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ctrd/ against Debian's real containerd 1.6 (a private daemon with its CRI
# plugin, the overlayfs snapshotter, then native), driven through
# test/tools/ctrd_probe (one call per run) and checked with ctr, containerd's
# own client: a lease with labels; a snapshot prepared under it with no parent
# (its mount target, reached through another path to containerd's root,
# translated), a file written there, committed under a chain-ID-like name with
# the snapshot.ref label, Stat'ed (committed, labels); a child prepared on it
# (overlayfs: an overlay whose upperdir is the target and whose lowerdir is the
# parent's directory with the file; native: a bind of a copy of the parent),
# its Mounts, a View refused as a write target, AlreadyExists on an existing
# key and on an existing target, List with filters, the child removed; a blob
# put on disk as cri/content.c does, registered with the uncompressed label
# (again: AlreadyExists is success), its Info and labels updated; a blob not
# on disk refused. GC: the lease keeps its snapshots and blob through a
# collection, a second lease given them by AddResource keeps them after the
# first is deleted, and deleting that one frees them. Chain IDs equal the
# snapshot names containerd's own unpack commits. A call against a socket that
# accepts and stays silent, and one that never accepts, ends at its bound.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

PROBE=${IMGPULL_CTRD_PROBE:-}
[[ -x "$PROBE" ]] || t_fail "IMGPULL_CTRD_PROBE ('$PROBE') is not the built test/tools/ctrd_probe"

t_make_image "$T_WORK/img" v1 --layer 300K --layer 200K --layer 100K --seed 19
img_diff_ids=$T_IMG_DIFF_IDS
tar -C "$T_WORK/img" -cf "$T_WORK/img.tar" oci-layout index.json blobs

# probe ARGS...: the probe on this containerd (stdout in $T_OUT, exit 0 expected).
probe() { t_expect_exit 0 "${P[@]}" "$@"; }
# probe_fails RC GRPC ARGS...: exit RC, gRPC status GRPC on stderr.
probe_fails() {
  local rc=$1 code=$2
  shift 2
  t_expect_exit "$rc" "${P[@]}" "$@"
  t_assert_file_contains "$T_ERR" "^grpc-status $code\$" "$* answers gRPC status $code"
}
# snaps: containerd's snapshot list into S, one "KEY|PARENT|KIND" line each, sorted.
snaps() {
  "${CTR[@]}" snapshots --snapshotter "$snap" ls >"$T_WORK/snaps" || t_fail "ctr snapshots ls failed"
  S=$(tail -n +2 "$T_WORK/snaps" | sed -E 's/^(.*[^ ]) +(sha256:[0-9a-f]{64}|) +(Active|Committed|View) *$/\1|\2|\3/' | sort)
}
# blob_put FILE: into containerd's content store on disk only, as cri/content.c does
# (an ingest directory, read-only, renamed into blobs/sha256).
blob_put() {
  local hex ing="$CRI_ROOT/io.containerd.content.v1.content/ingest/imgpull-test"
  hex=$(sha256sum <"$1" | cut -c1-64)
  mkdir -p "$CRI_ROOT/io.containerd.content.v1.content/blobs/sha256" "$ing"
  cp "$1" "$ing/data"
  chmod 0444 "$ing/data"
  mv "$ing/data" "$CRI_ROOT/io.containerd.content.v1.content/blobs/sha256/$hex"
  rmdir "$ing"
}

run_snapshotter() {
  snap=$1
  ip_containerd_cri_start --snapshotter "$snap"
  local sroot="$CRI_ROOT/io.containerd.snapshotter.v1.$snap"
  # imgpull may see containerd's root at another path (a host mount): here a
  # symbolic link; the answers' paths name the real one and are translated.
  ln -sfn "$CRI_ROOT" "$T_WORK/hostview"
  local local_root="$T_WORK/hostview/io.containerd.snapshotter.v1.$snap"
  P=("$PROBE" --socket "$CRI_SOCK" --snapshotter "$snap" --root "$sroot" --local-root "$local_root")
  local lease="imgpull-test-$snap" lease2="imgpull-test2-$snap" expire
  expire=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
  local chain=() c1 c2
  mapfile -t chain < <("$PROBE" chain-ids sha256:"$(printf a | sha256sum | cut -c1-64)" \
    sha256:"$(printf b | sha256sum | cut -c1-64)")
  c1=${chain[0]}
  c2=${chain[1]}
  local key1="imgpull-test-1 $c1" key2="imgpull-test-2 $c2"

  # A lease with labels.
  probe lease-create "$lease" "containerd.io/gc.expire=$expire" io.imgpull/test=yes
  "${CTR[@]}" leases ls >"$T_WORK/leases"
  grep -E "^$lease .*containerd.io/gc.expire=$expire" "$T_WORK/leases" | grep -q 'io.imgpull/test=yes' ||
    t_fail "$snap: ctr leases ls: $(cat "$T_WORK/leases")"
  probe_fails 7 6 lease-create "$lease"
  probe lease-list "id~=\"^imgpull-test-\""
  t_assert_eq "$(grep -c '^lease ' "$T_OUT")" 1 "$snap: leases matching the filter"
  t_assert_file_contains "$T_OUT" "^label io.imgpull/test=yes\$" "$snap: the lease's label listed"
  t_ok "$snap: lease created with its labels"

  # Prepare with no parent: a bind mount of an empty directory, under the lease.
  probe --lease "$lease" prepare "$key1" "" "containerd.io/snapshot.ref=$c1"
  local target
  target=$(sed -n 's/^target bind //p' "$T_OUT")
  [[ -n "$target" ]] || t_fail "$snap: no bind target: $(cat "$T_OUT")"
  [[ "$target" == "$local_root/snapshots/"* ]] || t_fail "$snap: target $target not under $local_root/snapshots"
  t_assert_file_contains "$T_OUT" "^mount bind $sroot/snapshots/" "$snap: containerd's own path in the answer"
  [[ -d "$target" && -z "$(ls -A "$target")" ]] || t_fail "$snap: $target is not an empty directory"
  snaps
  t_assert_eq "$(grep -F "$key1|" <<<"$S" || true)" "$key1||Active" "$snap: ctr lists the prepared key"
  echo "layer one" >"$target/hello"
  mkdir "$target/d"
  # Commit under the chain ID, the label passed again; Stat.
  probe --lease "$lease" commit "$c1" "$key1" "containerd.io/snapshot.ref=$c1"
  snaps
  t_assert_eq "$S" "$c1||Committed" "$snap: ctr lists the committed snapshot only"
  probe stat "$c1"
  t_assert_eq "$(cat "$T_OUT")" "name=$c1
parent=
kind=committed
label containerd.io/snapshot.ref=$c1" "$snap: Stat of the committed name"
  probe_fails 4 5 stat "$key1"
  t_ok "$snap: prepared, written, committed as $c1"

  # A child on it.
  probe --lease "$lease" prepare "$key2" "$c1" "containerd.io/snapshot.ref=$c2"
  cp "$T_OUT" "$T_WORK/prepare2"
  local target2 lower
  if [[ $snap == overlayfs ]]; then
    t_assert_file_contains "$T_OUT" "^mount overlay overlay .*upperdir=$sroot/snapshots/" "$snap: an overlay"
    target2=$(sed -n 's/^target overlay //p' "$T_OUT")
    lower=$(sed -n 's/^lower //p' "$T_OUT")
    t_assert_eq "$(grep -c '^lower ' "$T_OUT")" 1 "$snap: lowerdirs of the child"
    [[ -z "$(ls -A "$target2")" ]] || t_fail "$snap: the upperdir $target2 is not empty"
    t_assert_eq "$(cat "$lower/hello")" "layer one" "$snap: the lowerdir is the parent's directory"
    [[ "$lower" == "$target" ]] || t_fail "$snap: lowerdir $lower, the parent was written in $target"
  else
    target2=$(sed -n 's/^target bind //p' "$T_OUT")
    t_assert_eq "$(grep -c '^lower ' "$T_OUT" || true)" 0 "$snap: lowerdirs of a bind"
    t_assert_eq "$(cat "$target2/hello")" "layer one" "$snap: the child is a copy of the parent"
  fi
  [[ "$target2" == "$local_root/snapshots/"* && "$target2" != "$target" ]] || t_fail "$snap: child target $target2"
  snaps
  t_assert_eq "$(grep -F "$key2|" <<<"$S" || true)" "$key2|$c1|Active" "$snap: ctr lists the child on its parent"
  probe mounts "$key2"
  diff "$T_OUT" "$T_WORK/prepare2" >/dev/null || t_fail "$snap: Mounts differs from Prepare: $(cat "$T_OUT")"
  probe_fails 7 6 --lease "$lease" prepare "$key2" "$c1"
  t_assert_file_contains "$T_ERR" "snapshot \"$key2\": already exists" "$snap: the key exists"
  probe_fails 7 6 --lease "$lease" prepare "imgpull-test-3 $c1" "" "containerd.io/snapshot.ref=$c1"
  t_assert_file_contains "$T_ERR" "target snapshot \"$c1\": already exists" "$snap: the target exists"
  probe_fails 2 3 --snapshotter nosuch stat "$c1"
  # A View is read-only: no write target.
  probe --lease "$lease" view "imgpull-view" "$c1"
  t_assert_file_contains "$T_OUT" "^target refused \(usage\): .*read-only" "$snap: a view is no write target"
  probe list "kind==active" "kind==view"
  t_assert_eq "$(sort "$T_OUT")" "$(printf 'active\t%s\t%s\nview\timgpull-view\t%s' "$key2" "$c1" "$c1")" \
    "$snap: List with filters"
  probe list
  t_assert_eq "$(grep -c . "$T_OUT")" 3 "$snap: List of all"
  probe remove "imgpull-view"
  probe remove "$key2"
  snaps
  t_assert_eq "$S" "$c1||Committed" "$snap: ctr no longer lists the removed child and view"
  probe_fails 4 5 remove "$key2"
  t_ok "$snap: child prepared on $c1, its mounts, removed"

  # A blob on disk, registered under the lease.
  head -c 70000 /dev/urandom >"$T_WORK/blob"
  local d
  d=$(t_sha256 "$T_WORK/blob")
  blob_put "$T_WORK/blob"
  "${CTR[@]}" content ls -q >"$T_WORK/content"
  ! grep -qxF "$d" "$T_WORK/content" || t_fail "$snap: the blob is registered before it was"
  probe_fails 4 5 content-info "$d"
  probe --lease "$lease" content-register "$d" 70000 "containerd.io/uncompressed=$c1"
  t_assert_eq "$(cat "$T_OUT")" registered "$snap: registered"
  "${CTR[@]}" content ls >"$T_WORK/content"
  grep -F "$d" "$T_WORK/content" | grep -qF "containerd.io/uncompressed=$c1" ||
    t_fail "$snap: ctr content ls: $(cat "$T_WORK/content")"
  probe --lease "$lease" content-register "$d" 70000 "containerd.io/uncompressed=$c1"
  t_assert_eq "$(cat "$T_OUT")" "already registered" "$snap: AlreadyExists is success"
  probe content-update "$d" io.imgpull/x=1
  t_assert_file_contains "$T_OUT" "^label io.imgpull/x=1\$" "$snap: Update answers the new label"
  probe content-info "$d"
  t_assert_eq "$(sort "$T_OUT")" "$(printf 'label containerd.io/uncompressed=%s\nlabel io.imgpull/x=1\n%s 70000' "$c1" "$d")" \
    "$snap: Info"
  probe content-update "$d" io.imgpull/x
  "${CTR[@]}" content ls >"$T_WORK/content"
  ! grep -F "$d" "$T_WORK/content" | grep -qF "io.imgpull/x" || t_fail "$snap: the label was not removed"
  # Not on disk (or of another size): refused (OutOfRange on 1.6), nothing registered.
  head -c 1000 /dev/urandom >"$T_WORK/blob2"
  local d2
  d2=$(t_sha256 "$T_WORK/blob2")
  probe_fails 7 11 --lease "$lease" content-register "$d2" 1000
  blob_put "$T_WORK/blob2"
  probe_fails 7 11 --lease "$lease" content-register "$d2" 999
  probe --lease "$lease" content-register "$d2" 1000
  t_ok "$snap: blobs registered from disk with their labels"

  # GC: the lease holds the snapshot and the blob through a collection (run by
  # deleting a throwaway lease with sync).
  probe lease-create "imgpull-test-gc"
  probe lease-delete "imgpull-test-gc" sync
  snaps
  t_assert_eq "$S" "$c1||Committed" "$snap: the leased snapshot after a GC"
  "${CTR[@]}" content ls -q >"$T_WORK/content"
  grep -qxF "$d" "$T_WORK/content" || t_fail "$snap: the leased blob went at a GC"
  # A second lease given them by AddResource keeps them when the first goes.
  probe lease-create "$lease2"
  probe lease-add "$lease2" "$c1" "snapshots/$snap"
  probe lease-add "$lease2" "$d" content
  probe_fails 2 3 lease-add "$lease2" "$c1" snapshots
  probe lease-delete "$lease" sync
  "${CTR[@]}" leases ls -q >"$T_WORK/leases"
  ! grep -qxF "$lease" "$T_WORK/leases" || t_fail "$snap: ctr still lists the deleted lease"
  snaps
  t_assert_eq "$S" "$c1||Committed" "$snap: the snapshot held by the second lease"
  "${CTR[@]}" content ls -q >"$T_WORK/content"
  grep -qxF "$d" "$T_WORK/content" || t_fail "$snap: the blob held by the second lease went"
  ! grep -qxF "$d2" "$T_WORK/content" || t_fail "$snap: the blob held by the deleted lease only stayed"
  probe_fails 4 5 lease-delete "$lease"
  probe lease-delete "$lease2" sync
  snaps
  t_assert_eq "$S" "" "$snap: nothing left after both leases"
  "${CTR[@]}" content ls -q >"$T_WORK/content"
  t_assert_eq "$(cat "$T_WORK/content")" "" "$snap: no blob left after both leases"
  t_ok "$snap: leases hold what was made under them or added, and free it when deleted"

  # Chain IDs: what containerd's own unpack commits.
  "${CTR[@]}" images import --snapshotter "$snap" "$T_WORK/img.tar" >"$T_WORK/import.out" 2>&1 ||
    t_fail "$snap: ctr images import: $(cat "$T_WORK/import.out")"
  # shellcheck disable=SC2086
  mapfile -t chain < <("$PROBE" chain-ids $img_diff_ids)
  t_assert_eq "${#chain[@]}" 3 "$snap: chain IDs"
  snaps
  t_assert_eq "$S" "$(printf '%s||Committed\n%s|%s|Committed\n%s|%s|Committed' \
    "${chain[0]}" "${chain[1]}" "${chain[0]}" "${chain[2]}" "${chain[1]}" | sort)" \
    "$snap: containerd's unpack committed the chain IDs"
  probe stat "${chain[2]}"
  t_assert_file_contains "$T_OUT" "^parent=${chain[1]}\$" "$snap: Stat of the top chain ID"
  t_ok "$snap: chain IDs equal containerd's"
  ip_containerd_stop
}

run_snapshotter overlayfs
run_snapshotter native

# Bounded: a socket that accepts and stays silent, one that never accepts.
cat >"$T_WORK/silent.py" <<'PY'
import socket, sys, time
mode, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
held = []
while True:
    if mode == "noaccept":
        time.sleep(3600)
    c, _ = s.accept()
    held.append(c)  # never answered
PY
for mode in accept noaccept; do
  sock="$T_WORK/$mode.sock"
  t_spawn "$T_WORK/$mode.log" "$T_PY" "$T_WORK/silent.py" "$mode" "$sock"
  t_wait_until 10 test -S "$sock" || t_fail "$mode: the listener did not start"
  t0=$(date +%s.%N)
  t_expect_exit 5 "$PROBE" --socket "$sock" --timeout 2 stat x
  t1=$(date +%s.%N)
  t_assert_file_contains "$T_ERR" "containerd: unix://$sock did not answer /containerd.services.snapshots.v1.Snapshots/Stat within 2 s" \
    "$mode: the timeout"
  (($(echo "$t1 - $t0 < 5" | bc))) || t_fail "$mode: took $(echo "$t1 - $t0" | bc) s"
  t0=$(date +%s.%N)
  t_expect_exit 5 "$PROBE" --socket "$sock" --deadline 3 lease-create imgpull-x
  t1=$(date +%s.%N)
  (($(echo "$t1 - $t0 < 6" | bc))) || t_fail "$mode: the deadline did not bound the call ($(echo "$t1 - $t0" | bc) s)"
  t_assert_file_contains "$T_ERR" "^grpc-status -1\$" "$mode: no gRPC status"
  t_ok "$mode: bounded (ERR_NETWORK, no status)"
done
t_pass
