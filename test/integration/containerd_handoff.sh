#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Node prefetch into a real containerd (Debian's 1.6, CRI plugin, native
# snapshotter, on a temporary root and socket). imgpull pulls three image kinds
# (OCI, Docker schema2, an index) through a rate-capped redirecting blob store
# with --containerd and no --dest: its blobs land in containerd's content store
# (hard links to its own layout inside containerd's root) and a CRI PullImage
# registers them. Then a CRI PullImage sent by the test itself, as the kubelet's
# would be, moves zero blob bytes (nginx's log), ctr lists the images and every
# blob, and containerd's garbage collection keeps them. A CRI pull already
# running when imgpull starts on the same image: both finish. With containerd gone:
# one clear line, exit 5, no blob fetched, and the blobs written stay valid. A root too small for
# the images fails before any download. `imgpull idle` waits for SIGTERM.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

ip_redirect_setup S3 MAIN --rate 8m --push team/oci:v1 --oci "$T_WORK/oci" --layer 6M --layer 2M --layer 300K
oci_layers="$T_IMG_LAYERS $T_IMG_CONFIG"
ip_push_image "$REG_MAIN_ADDR" team/docker:v1 --oci "$T_WORK/docker" --format v2s2 --layer 3M --layer 100K --seed 7
docker_layers="$T_IMG_LAYERS" # skopeo converts the config too: its digest changes
t_make_index "$T_WORK/idx" v1 linux/amd64 linux/arm64 --layer 1M
t_push "$T_WORK/idx" v1 "$REG_MAIN_ADDR" team/multi:v1 --all
t_make_image "$T_WORK/other" v1 --layer 200K --seed 9
t_push "$T_WORK/other" v1 "$REG_MAIN_ADDR" team/other:v1
t_make_image "$T_WORK/race" v1 --layer 24M --layer 1M --seed 11
race_layers="$T_IMG_LAYERS $T_IMG_CONFIG"
t_push "$T_WORK/race" v1 "$REG_MAIN_ADDR" team/race:v1
refs=("$REG_MAIN_ADDR/team/oci:v1" "$REG_MAIN_ADDR/team/docker:v1" "$REG_MAIN_ADDR/team/multi:v1")

ip_containerd_cri_start "$REG_MAIN_ADDR"
blob_gets() { grep -c '/data HTTP' "$BLOB_S3_LOG" || true; }

t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --platform linux/amd64 --progress plain \
  --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" "${refs[@]}"
for r in "${refs[@]}"; do
  t_assert_file_contains "$T_ERR" "^containerd: $r -> sha256:[0-9a-f]{64}" "imgpull reports containerd's image id for $r"
done
layout="$CRI_ROOT/imgpull"
ip_check_layout "$layout"
content="$CRI_ROOT/io.containerd.content.v1.content/blobs/sha256"
for l in $oci_layers $docker_layers; do
  f="$content/${l#sha256:}"
  [[ -f "$f" ]] || t_fail "blob $l is not in containerd's content store"
  [[ "$(stat -c %a "$f")" == 444 ]] || t_fail "blob $l is not read-only in the store: $(stat -c %a "$f")"
  [[ "$(stat -c %i "$f")" == "$(stat -c %i "$layout/blobs/sha256/${l#sha256:}")" ]] ||
    t_fail "blob $l was copied, not linked: written twice"
done
t_ok "blobs in containerd's store, read-only, hard links to imgpull's layout"

# The kubelet's pull, done by the test: no blob byte moves.
before=$(blob_gets)
for r in "${refs[@]}"; do
  id=$(ip_cri_pull "$r")
  t_assert_match "$id" '^sha256:[0-9a-f]{64}$' "CRI PullImage of $r answers an image id"
done
t_assert_eq "$(($(blob_gets) - before))" 0 "blob requests during the CRI pulls after the hand-off"
"${CTR[@]}" images ls -q >"$T_WORK/images"
for r in "${refs[@]}"; do
  grep -qxF "$r" "$T_WORK/images" || t_fail "ctr -n k8s.io images ls does not list $r: $(cat "$T_WORK/images")"
done
"${CTR[@]}" content ls -q >"$T_WORK/content"
for l in $oci_layers $docker_layers; do
  grep -qxF "$l" "$T_WORK/content" || t_fail "ctr -n k8s.io content ls does not list $l"
done
# containerd fetches whole blobs (no Range); imgpull always asks for ranges.
n=$(grep '/data HTTP' "$BLOB_S3_LOG" | grep -c 'range="-"' || true)
t_assert_eq "$n" 0 "blob requests by containerd itself, during the hand-off or after"
t_ok "containerd lists the images and every blob; it fetched no blob"

# Garbage collection: another image comes and goes; ours stay.
ip_cri_pull "$REG_MAIN_ADDR/team/other:v1" >/dev/null
"${CTR[@]}" images rm --sync "$REG_MAIN_ADDR/team/other:v1" >/dev/null
"${CTR[@]}" content ls -q >"$T_WORK/content2"
for l in $oci_layers $docker_layers; do
  grep -qxF "$l" "$T_WORK/content2" || t_fail "containerd's GC collected $l of a prefetched image"
  [[ -f "$content/${l#sha256:}" ]] || t_fail "the file of $l is gone after GC"
done
t_ok "containerd's garbage collection keeps the prefetched blobs"

# A kubelet pull already running when imgpull starts on the same image: both
# finish, and every blob in containerd's store hashes to its name.
race="$REG_MAIN_ADDR/team/race:v1"
( ip_cri_pull "$race" >"$T_WORK/race.id" ) &
kubelet=$!
sleep 0.5
t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none \
  --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" "$race"
wait "$kubelet" || t_fail "the kubelet's pull racing imgpull failed"
for l in $race_layers; do
  t_assert_eq "$(t_sha256 "$content/${l#sha256:}")" "$l" "blob $l after the race"
done
"${CTR[@]}" images ls -q >"$T_WORK/images-race" 2>&1 || true
grep -qxF "$race" "$T_WORK/images-race" || t_fail "the raced image is not listed: $(cat "$T_WORK/images-race")
kubelet's pull: $(cat "$T_WORK/race.id")
containerd's log: $(tail -n 30 "$T_WORK/containerd/containerd.log" 2>/dev/null)"
t_ok "a CRI pull and imgpull on the same image at once: both finish, the blobs are intact"

# containerd gone: exit 5, one line, before any blob moves (containerd is asked
# first); what was written stays valid.
t_stop "$CRI_PID"
before=$(blob_gets)
t_expect_exit 5 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none \
  --containerd="unix://$CRI_SOCK" --containerd-root "$CRI_ROOT" "$REG_MAIN_ADDR/team/other:v1"
[[ $(grep -c . "$T_ERR") -eq 1 ]] || t_fail "expected one error line: $(cat "$T_ERR")"
t_assert_file_contains "$T_ERR" "^imgpull: error: .*containerd's CRI service: cannot reach $CRI_SOCK" "the error names the socket"
t_assert_eq "$(($(blob_gets) - before))" 0 "blob requests with containerd gone"
t_expect_exit 0 "$IMGPULL" verify --dest "$layout"

# Disk budget: containerd's root on a filesystem too small for the images
# (with the default 10 % kept free): exit 7 at once, no blob requested.
small="$T_WORK/smallroot"
mkdir -p "$small"
mount -t tmpfs -o size=8M tmpfs "$small" || t_fail "cannot mount a tmpfs"
trap 'umount "$small" 2>/dev/null; _t_cleanup' EXIT
before=$(blob_gets)
t_expect_exit 7 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --platform linux/amd64 --progress none \
  --containerd="unix://$CRI_SOCK" --containerd-root "$small" "${refs[@]}"
t_assert_file_contains "$T_ERR" "^imgpull: error: not enough room in '$small/imgpull': [0-9]+ bytes needed" "the budget names the filesystem"
t_assert_eq "$(($(blob_gets) - before))" 0 "blob requests when the budget says no"
umount "$small"
trap _t_cleanup EXIT

# imgpull idle, the DaemonSet's main container: runs until SIGTERM, then exits 0.
"$IMGPULL" idle &
pid=$!
sleep 0.5
kill -0 "$pid" 2>/dev/null || t_fail "imgpull idle did not stay up"
kill -TERM "$pid"
t_wait_exit "$pid" 0 /dev/null "imgpull idle on SIGTERM"
t_expect_exit 2 "$IMGPULL" idle now
t_pass
