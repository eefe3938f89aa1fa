#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Transient failures are retried: a throttling blob store (429 + Retry-After),
# and a blob store restarted in the middle of a pull, after which only the
# missing bytes of each interrupted range are fetched again.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

ip_redirect_setup THROTTLE MAIN --limit-req 4r/s --push ops/app:v1 --layer 1M --layer 24M --layer 2M

t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/o1" --plain-http "$REG_MAIN_ADDR" --chunk-size 1M \
  --connections 8 --progress json "$ref"
n429=$(grep -c '" 429 ' "$BLOB_THROTTLE_LOG" || true)
[[ $n429 -ge 3 ]] || t_fail "the throttling store should have answered 429 several times (saw $n429)"
t_assert_file_contains "$T_OUT" '"event":"retry".*HTTP 429' "retries are reported in the progress stream"
ip_check_layout "$T_WORK/o1"
ip_skopeo_check "$T_WORK/o1" "$ref" "$img"
t_ok "$n429 answers of 429 retried"

# A store that goes away for a moment mid-pull.
ip_redirect_setup SLOW R2 --rate 3m
port=$BLOB_SLOW_PORT
"$IMGPULL" pull --dest "$T_WORK/o2" --plain-http "$REG_R2_ADDR" --chunk-size 8M --connections 4 \
  --retries 8 --progress plain "$REG_R2_ADDR/ops/app:v1" >"$T_WORK/p.out" 2>"$T_WORK/p.err" &
pid=$!
sleep 1.5
t_stop "$BLOB_SLOW_PID"
sleep 1
t_nginx_blobstore_start SLOW2 "$storage" --rate 3m --port "$port"
t_wait_exit "$pid" 0 "$T_WORK/p.err" "pull across a blob store restart"
t_assert_file_contains "$T_WORK/p.err" '^retry ' "the interruption was retried"
ip_check_layout "$T_WORK/o2"
ip_skopeo_check "$T_WORK/o2" "$REG_R2_ADDR/ops/app:v1" "$img"
# Resumed ranges start where the data stopped, not at a chunk boundary.
chunk=$((8 * 1024 * 1024))
mid=$(sed -n 's/.*range="bytes=\([0-9]*\)-[0-9]*".*/\1/p' "$BLOB_SLOW2_LOG" | awk -v c=$chunk '$1 % c != 0' | wc -l)
[[ $mid -ge 1 ]] || t_fail "expected resumed ranges starting mid-chunk after the restart"
t_ok "$mid ranges resumed mid-chunk"
t_pass
