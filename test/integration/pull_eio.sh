#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The disk fails under a pull: the layout lives on a filesystem of the test's
# own (test/lib/eiofs.py, FUSE) whose writes to partial files fail with EIO
# while a control file exists, as a failing disk or a device-mapper error
# target answers. The pull ends with exit 7 naming the file and the error,
# blobs/ holds only whole blobs, index.json is intact and does not name the
# image, the bytes written before are kept; once the disk works again the same
# command finishes, fetching only what was neither committed nor kept, and the
# layout verifies (sha256sum, skopeo).
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
ip_mount_ns "$@" # the FUSE mount disappears with the test
t_workdir
ip_need_fuse

ip_redirect_setup S3 MAIN --rate 1m --push ml/model:v1 --layer 12M --layer 3M --layer 100K
total=$(ip_image_bytes "$ref")

backing="$T_WORK/backing" mnt="$T_WORK/mnt" control="$T_WORK/disk-fails"
mkdir -p "$backing" "$mnt"
t_spawn "$T_WORK/eiofs.log" "$T_PY" "$T_LIB_DIR/eiofs.py" "$backing" "$mnt" "$control"
t_at_exit umount -l "$mnt"
t_wait_until 10 mountpoint -q "$mnt" || t_fail "eiofs did not mount: $(cat "$T_WORK/eiofs.log")"
dest="$mnt/layout"
pull=("$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --dest "$dest" --chunk-size 4M --connections 4 "$ref")
sent() { awk '{s += $7} END {print s + 0}' "$BLOB_S3_LOG"; }

"${pull[@]}" >"$T_WORK/eio.out" 2>"$T_WORK/eio.err" &
pid=$!
# The disk fails once bytes are written and recorded (a record appears at
# the claim, before any byte).
t_wait_until 20 ip_record_has_bytes "$dest" || t_fail "no progress record with bytes appeared"
sleep 0.5
touch "$control"
t_wait_exit "$pid" 7 "$T_WORK/eio.err" "a failing disk ended the pull"
# A write fails, or the reservation of a blob taken on after the disk failed.
grep -Eq "cannot (write|allocate) '$dest/ingest/[0-9a-f]*.partial': Input/output error" "$T_WORK/eio.err" ||
  t_fail "the message does not name the file and the error: $(cat "$T_WORK/eio.err")"
grep -q "eiofs: EIO" "$T_WORK/eiofs.log" || t_fail "eiofs failed no write"
t_ok "exit 7: $(tail -1 "$T_WORK/eio.err" | cut -c1-200)"
ip_check_failed_layout "$dest"
t_exists "$dest/ingest/*.partial" || t_fail "no partial download kept"
t_ok "blobs/ holds only whole blobs, index.json intact, partial downloads kept"

# The disk works again: the rerun fetches exactly what is neither committed nor
# kept (what the failed writes lost was never kept, so it is fetched again).
rm -f "$control"
committed=$(find "$dest/blobs" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
before=$(sent)
t_expect_exit 0 "${pull[@]:0:2}" -v "${pull[@]:2}"
kept=$({ grep -o 'resuming with [0-9]* bytes kept' "$T_ERR" || true; } | awk '{s += $3} END {print s + 0}')
rerun=$(($(sent) - before))
((kept > 0)) || t_fail "the rerun kept nothing of what was written before the disk failed"
((rerun <= total - committed - kept)) ||
  t_fail "the rerun fetched $rerun bytes; $total - $committed committed - $kept kept were missing"
ip_check_layout "$dest"
ip_skopeo_check "$dest" "$ref" "$img"
t_ok "the disk works again: the rerun kept $kept bytes and fetched the $rerun missing ($(echo "scale=3; $(sent) / $total" | bc)x the image over both runs)"
t_pass
