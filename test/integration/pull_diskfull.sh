#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The disk fills up in the middle of a pull: exit 7 with a message that names
# the filesystem, the bytes already written kept in ingest/ for a rerun, no
# incomplete blob in blobs/, index.json intact and not naming the image. Once
# space is freed, a rerun finishes the pull, fetching little more than
# what was missing (counted at the blob store). A destination removed during a
# pull, or read-only, fails the same way (exit 7).
# The layout lives on a small tmpfs mounted in a mount namespace of the test's own.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
ip_mount_ns "$@" # the tmpfs disappears with the test
t_workdir

ip_redirect_setup S3 MAIN --rate 512k --push ml/model:v1 --layer 8M --layer 4M --layer 4M --layer 2M --layer 1M
total=$(ip_image_bytes "$ref")

mnt="$T_WORK/mnt"
mkdir -p "$mnt"
mount -t tmpfs -o size=40m tmpfs "$mnt" || t_fail "cannot mount a tmpfs (the test needs root)"
dest="$mnt/layout"
pull=("$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --min-free 0 --dest "$dest" --chunk-size 4M)

# --- the disk fills while the layers arrive
"${pull[@]}" --connections 1 "$ref" >"$T_WORK/full.out" 2>"$T_WORK/full.err" &
pid=$!
# Partial files are allocated in full when a blob is taken on (one connection:
# one blob at a time), so the blobs taken on later find the disk full. The
# disk fills once the first layer (8 MiB, 16 s at the store's rate) is under
# way: a blob taken on just before, its record not yet written, must keep its
# bytes too (the record is written when the space is reserved).
big=$(skopeo inspect --tls-verify=false --raw "docker://$ref" | jq -r '.layers[0].digest | sub("sha256:"; "")')
t_wait_until 10 t_exists "$dest/ingest/$big.progress" || t_fail "no progress record appeared"
avail=$(df --output=avail -B1 "$mnt" | tail -1)
fallocate -l "$avail" "$mnt/filler" 2>/dev/null || fallocate -l $((avail - 65536)) "$mnt/filler" ||
  t_fail "cannot fill the tmpfs"
t_wait_exit "$pid" 7 "$T_WORK/full.err" "a full disk ended the pull"
grep -q "no space left on the filesystem mounted at '$mnt'" "$T_WORK/full.err" || t_fail "the message does not say the disk is full: $(cat "$T_WORK/full.err")"
t_ok "exit 7: $(tail -1 "$T_WORK/full.err")"

ip_check_failed_layout "$dest"
nrec=$(find "$dest/ingest" -name '*.progress' | wc -l)
((nrec > 0)) || t_fail "no progress record kept for a rerun: $(ls "$dest/ingest")"
t_ok "blobs/ holds only whole blobs ($(ls "$dest/blobs/sha256" | wc -l)), index.json intact, $nrec partial downloads kept"

# --- space again: the same command finishes, fetching little more than what was missing
rm -f "$mnt/filler"
before=$(awk '{s += $7} END {print s + 0}' "$BLOB_S3_LOG")
t_expect_exit 0 "${pull[@]}" --connections 8 "$ref"
after=$(awk '{s += $7} END {print s + 0}' "$BLOB_S3_LOG")
ip_check_layout "$dest"
ip_skopeo_check "$dest" "$ref" "$img"
ratio=$(echo "scale=3; $after / $total" | bc)
(($(echo "$ratio <= 1.10" | bc))) ||
  t_fail "the store sent $after bytes over both runs for a $total-byte image (${ratio}x): the rerun refetched kept bytes"
t_ok "rerun completes; the store sent ${ratio}x the image over both runs ($((after - before)) bytes in the rerun)"

# --- the destination vanishes in the middle of a pull (removed by someone else):
# exit 7 naming what is gone, no crash, nothing recreated half-way
gone="$mnt/gone"
"${pull[@]/$dest/$gone}" --connections 1 "$ref" >"$T_WORK/gone.out" 2>"$T_WORK/gone.err" &
pid=$!
t_wait_until 10 t_exists "$gone/ingest/*.progress" || t_fail "no progress record appeared"
rm -rf "$gone"
t_wait_exit "$pid" 7 "$T_WORK/gone.err" "a vanished destination ended the pull"
[[ ! -e "$gone" ]] || t_fail "the pull recreated parts of the removed destination: $(find "$gone" | head)"
t_ok "vanished destination: exit 7, nothing recreated: $(tail -1 "$T_WORK/gone.err")"

# --- a read-only destination: exit 7, nothing half-written
mount -o remount,ro "$mnt"
t_expect_exit 7 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --dest "$mnt/other" "$ref"
t_assert_file_contains "$T_ERR" "Read-only file system" "the message says why"
t_ok "read-only destination: $(tail -1 "$T_ERR")"
umount "$mnt"
t_pass
