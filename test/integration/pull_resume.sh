#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Kill and resume: a pull of a large layer through a store capped per
# connection is SIGKILLed at three points (while resolving, early in the
# layer, later in it) and the same command is run again each time; the last
# run completes. The bytes the store sent over all runs are at most 1.05x the
# image (the ranges on disk are kept, only the missing ones fetched), and the
# layout verifies (sha256sum, skopeo, imgpull verify).
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

storage="$T_WORK/storage"
mkdir -p "$storage"
t_nginx_blobstore_start S3 "$storage" --rate 1m
t_registry_start MAIN --root "$storage" --redirect "$BLOB_S3_URL"
t_make_image "$T_WORK/src" v1 --layer 128M --layer 3M --layer 200K
img=$T_IMG_MANIFEST
t_push "$T_WORK/src" v1 "$REG_MAIN_ADDR" ml/weights:v1
ref="$REG_MAIN_ADDR/ml/weights:v1"
total=$(skopeo inspect --tls-verify=false --raw "docker://$ref" | jq '[.config.size] + [.layers[].size] | add')
dest="$T_WORK/layout"
pull=("$IMGPULL" pull -v --plain-http "$REG_MAIN_ADDR" --progress none --dest "$dest" --connections 4 --chunk-size 4M "$ref")
sent() { awk '{s += $7} END {print s + 0}' "$BLOB_S3_LOG"; }

# Kill points, in seconds after the start of each run (each run resumes the last).
for at in 0.05 3 6; do
  "${pull[@]}" 2>>"$T_WORK/kills.err" &
  pid=$!
  sleep "$at"
  kill -KILL "$pid" 2>/dev/null || t_fail "the pull ended before $at s: slow the store down"
  wait "$pid" 2>/dev/null || true
  t_log "killed after $at s: the store has sent $(sent) of $total bytes"
done
[[ -n "$(ls "$dest/ingest/"*.partial 2>/dev/null)" ]] || t_fail "the kills left no partial download"
t_expect_exit 0 "${pull[@]}"
grep -h "resuming with" "$T_WORK/kills.err" "$T_ERR" >&2 || t_fail "no run resumed with bytes kept"
ip_check_layout "$dest"
ip_skopeo_check "$dest" "$ref" "$img"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"
all=$(sent)
ratio=$(echo "scale=4; $all / $total" | bc)
(($(echo "$ratio <= 1.05" | bc))) || t_fail "the store sent $all bytes over four runs for a $total-byte image (${ratio}x > 1.05x)"
t_ok "three SIGKILLs and a rerun: the store sent ${ratio}x the image ($all of $total bytes)"
t_pass
