#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The transfer loop never waits on the disk. The layout lives on a filesystem
# of the test's own (test/lib/eiofs.py, FUSE) whose writes to one blob's
# partial file stall (1.5 s per 128 KiB write: 6 s for one 512 KiB buffer):
# the other blob, 8 MiB over loopback, must arrive and be verified while that
# blob's first buffer is still being written, that is, its connections kept
# receiving. Then the disk is fast again and the pull completes and verifies.
# An engine that wrote on its loop thread finishes the other blob only after
# the stalled write returns (>= 6 s). Last, a commit held up: nothing more is
# recorded for its blob.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
ip_mount_ns "$@" # the FUSE mount disappears with the test
t_workdir
ip_need_fuse

t_registry_start MAIN
ip_push_image "$REG_MAIN_ADDR" ml/model:v1 --layer 1M --layer 8M
slow=$(jq -r '.layers[0].digest | sub("sha256:"; "")' "$T_WORK/src/blobs/sha256/${img#sha256:}")
fast=$(jq -r '.layers[1].digest | sub("sha256:"; "")' "$T_WORK/src/blobs/sha256/${img#sha256:}")

backing="$T_WORK/backing" mnt="$T_WORK/mnt" control="$T_WORK/disk-control"
mkdir -p "$backing" "$mnt"
echo "delay 1.5 $slow" >"$control"
t_spawn "$T_WORK/eiofs.log" "$T_PY" "$T_LIB_DIR/eiofs.py" "$backing" "$mnt" "$control"
t_at_exit umount -l "$mnt"
t_wait_until 10 mountpoint -q "$mnt" || t_fail "eiofs did not mount: $(cat "$T_WORK/eiofs.log")"
dest="$mnt/layout"

"$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress json --dest "$dest" --connections 4 --chunk-size 1M \
  "$ref" >"$T_WORK/pull.json" 2>"$T_WORK/pull.err" &
pid=$!
done_at() { jq -r --arg d "sha256:$1" 'select(.event == "blob_done" and .digest == $d) | .elapsed' "$T_WORK/pull.json"; }
fast_done() { [[ -n "$(done_at "$fast")" ]]; }
t_wait_until 30 fast_done ||
  t_fail "the fast blob did not arrive: $(tail -3 "$T_WORK/pull.err")"
grep -q "eiofs: delaying a write .* to .*ingest/$slow.partial" "$T_WORK/eiofs.log" ||
  t_fail "no write of the slow blob was delayed: $(cat "$T_WORK/eiofs.log")"
fast_s=$(done_at "$fast")
(($(echo "$fast_s < 4" | bc))) ||
  t_fail "the 8 MiB blob took $fast_s s while another blob's writes stalled: the loop waited on the disk"
[[ -z "$(done_at "$slow")" ]] || t_fail "the slow blob was done before the fast one: its writes were not delayed"
t_ok "the 8 MiB blob was verified after $fast_s s while the other blob's first write stalled"

rm -f "$control" # the disk is fast again
t_wait_exit "$pid" 0 "$T_WORK/pull.err" "the pull"
slow_s=$(done_at "$slow")
(($(echo "$slow_s > $fast_s" | bc))) || t_fail "the slow blob was done at $slow_s s, before the fast one"
ip_check_layout "$dest"
! grep -q "warn" "$T_WORK/pull.err" || t_fail "the pull warned: $(grep warn "$T_WORK/pull.err")"
t_ok "the pull completed once the disk was fast again (the slow blob at $slow_s s); the layout verifies"

# A slow commit (its rename held for 1 s): no progress record is written for
# the blob behind it, when it is no longer partial and its lock is gone (the
# loop kept recording a blob whose commit was out, and warned "saved without
# its lock").
echo "delay-rename 1 $fast" >"$control"
t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --dest "$mnt/layout2" \
  --connections 4 --chunk-size 1M "$ref"
grep -q "eiofs: delaying the rename of .*ingest/$fast.partial" "$T_WORK/eiofs.log" ||
  t_fail "the commit's rename was not delayed: $(tail -3 "$T_WORK/eiofs.log")"
[[ ! -s "$T_ERR" ]] || t_fail "the pull said more than nothing: $(cat "$T_ERR")"
ip_check_layout "$mnt/layout2"
t_ok "a commit held for 1 s: no record written behind it, nothing said, the layout verifies"
t_pass
