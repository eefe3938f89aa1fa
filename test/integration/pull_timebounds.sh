#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every pull ends in bounded time. Servers of the test's own (test/lib/hostile.py)
# stall after the headers, trickle a byte every few seconds, or reset after a few
# bytes, on manifests and on blobs: with imgpull's default settings each pull ends
# with exit 5 within the bound README states (150 s) and names the host and what
# it did. All of them run at once, so the test takes about as long as the slowest.
# The bound holds for any blob: one of 64 MiB in 256 KiB ranges from a host that
# stalls after the headers, and for a host that answers 429 forever, whatever its
# Retry-After. A steady slow server (200 KB/s) still completes; a body longer than the
# manifest says fails at once with exit 6; a range that stalls is re-requested on
# another connection while the blob's other ranges keep flowing.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

BOUND=150 # seconds: README, "Time bounds"
t_make_image "$T_WORK/many" v1 --layer 64M
t_make_image "$T_WORK/src" v1 --layer 300K --layer 2M
layer=$(echo "$T_IMG_LAYERS" | cut -d' ' -f2)

# scenario NAME MANIFEST_MODE BLOB_MODE [PULL OPTIONS]: start a hostile registry and
# a pull against it (default settings unless options are given), in the background.
declare -A PIDS=() T0=()
scenario() {
  local name=$1 mmode=$2 bmode=$3
  shift 3
  ip_hostile_start "$name" "${SRC:-$T_WORK/src}" --manifest "$mmode" --blob "$bmode" --blob-min "${BLOB_MIN:-0}"
  local addr_var="HOSTILE_${name}_ADDR"
  local addr=${!addr_var}
  T0[$name]=$(date +%s.%N)
  ( rc=0
    "$IMGPULL" pull --plain-http "$addr" --progress none --dest "$T_WORK/$name" "$@" "$addr/hostile/app:v1" \
      >"$T_WORK/$name.out" 2>"$T_WORK/$name.err" </dev/null || rc=$?
    echo $rc >"$T_WORK/$name.rc"
    date +%s.%N >"$T_WORK/$name.t1" ) &
  PIDS[$name]=$!
}

scenario MSTALL stall ok
scenario MTRICKLE trickle:3 ok
scenario MRESET reset:10 ok
scenario BSTALL ok stall
scenario BTRICKLE ok trickle:3
scenario BRESET ok reset:100
scenario SLOW rate:204800 rate:204800
scenario LONG ok long:4096
scenario LONGSTREAM ok longstream:4096
scenario B400 ok status:400
scenario M405 status:405 ok
SRC=$T_WORK/many BLOB_MIN=1048576 scenario BMANY ok stall --chunk-size 256K
scenario M429 status:429:300 ok
scenario B429 ok status:429:300
scenario B429_60 ok status:429:60
scenario TIMEOUT_M stall ok --timeout 4s
scenario TIMEOUT_B ok rate:20000 --timeout 4s
for n in "${!PIDS[@]}"; do wait "${PIDS[$n]}" || true; done

# check NAME RC REGEX [BOUND]: exit status RC, one error line matching REGEX, within
# BOUND seconds (default: README's).
check() {
  local name=$1 want=$2 re=$3 bound=${4:-$BOUND} rc secs
  rc=$(cat "$T_WORK/$name.rc")
  secs=$(echo "$(cat "$T_WORK/$name.t1") - ${T0[$name]}" | bc)
  [[ $rc == "$want" ]] || t_fail "$name: exit $rc, expected $want: $(cat "$T_WORK/$name.err")"
  if [[ -n "$re" ]]; then
    t_assert_file_contains "$T_WORK/$name.err" "^imgpull: error: .*$re" "$name: the error names the host and what it did"
  fi
  (($(echo "$secs <= $bound" | bc))) || t_fail "$name: took ${secs}s, more than the ${bound}s bound"
  t_ok "$name: exit $rc after $(printf '%.1f' "$secs") s"
  printf '%s %s\n' "$name" "$secs" >>"$T_WORK/times"
}
addr() { local v="HOSTILE_${1}_ADDR"; echo "${!v}"; }
check MSTALL 5 "$(addr MSTALL).*(too slow|timed out)"
check MTRICKLE 5 "$(addr MTRICKLE).*(too slow|timed out)"
check MRESET 5 "$(addr MRESET).*(reset|Recv failure|Send failure|closed)"
check BSTALL 5 "from $(addr BSTALL): stalled: nothing arrived for 20 s.*gave up"
check BTRICKLE 5 "from $(addr BTRICKLE): .*too slow.*gave up"
check BRESET 5 "from $(addr BRESET): .*(reset|Recv failure|Send failure|closed).*gave up"
# 256 ranges on a host that sends headers and then nothing: a blob without
# progress gives up within the bound of one range, not range by range.
check BMANY 5 "from $(addr BMANY): stalled: nothing arrived for 20 s.*gave up: 0 bytes and no range in 12[0-9] s"
# 429 for ever: a Retry-After longer than what is left of the bound fails at once;
# a shorter one is waited for, until the bound runs out.
check M429 5 "HTTP 429 asking to wait 300 s \\(Retry-After\\), more than the 82 s left" 5
t_assert_eq "$(grep -c '/manifests/' "$HOSTILE_M429_LOG")" 1 "a manifest 429 with Retry-After 300 is asked once"
check B429 5 "from $(addr B429): HTTP 429.*asking to wait 300 s \\(Retry-After\\): gave up" 5
check B429_60 5 "from $(addr B429_60): HTTP 429.*(asking to wait 60 s \\(Retry-After\\): gave up|gave up: 0 bytes)"
n=$(grep -o "/blobs/[^ ]*" "$HOSTILE_B429_60_LOG" | sort | uniq -c | sort -n | tail -1 | awk '{print $1}')
((n >= 2)) || t_fail "a Retry-After of 60 s is waited for while the bound allows: $n requests for one blob"
check SLOW 0 ""
ip_check_layout "$T_WORK/SLOW"
check LONG 6 "(is [0-9]+ bytes on the server, the manifest says|more than the manifest's)"
n=$(grep -o "/blobs/[^ ]*" "$HOSTILE_LONG_LOG" | sort | uniq -c | sort -n | tail -1 | awk '{print $1}')
t_assert_eq "$n" 1 "a body longer than the manifest's size is not retried: most requests for one blob"
# Other 4xx answers are not retried: one request, exit at once.
check B400 5 "unexpected HTTP 400" 5
n=$(grep -o "/blobs/[^ ]*" "$HOSTILE_B400_LOG" | sort | uniq -c | sort -n | tail -1 | awk '{print $1}')
t_assert_eq "$n" 1 "a 400 for a blob is not retried"
check M405 5 "HTTP 405" 5
t_assert_eq "$(grep -c '/manifests/' "$HOSTILE_M405_LOG")" 1 "a 405 for a manifest is not retried"
# --timeout ends a pull that would otherwise go on (a stalled manifest, a slow blob).
check TIMEOUT_M 5 "(--timeout|timed out)" 8
check TIMEOUT_B 5 "did not finish within its --timeout" 8
check LONGSTREAM 6 "more than the manifest's" 5
n=$(grep -o "/blobs/[^ ]*" "$HOSTILE_LONGSTREAM_LOG" | sort | uniq -c | sort -n | tail -1 | awk '{print $1}')
t_assert_eq "$n" 1 "a body that runs past the manifest's size is not retried"
longest=$(grep -E "^[MB](STALL|TRICKLE|RESET|MANY|429|429_60) " "$T_WORK/times" | sort -k2 -n | tail -1)
t_log "longest pull against a never-delivering server: $longest s"

# A range that stalls (the second of three) is dropped after the stall timeout
# and asked for again on another connection; the other ranges finish meanwhile.
t_make_image "$T_WORK/big" v1 --layer 6M
big=$(echo "$T_IMG_LAYERS" | cut -d' ' -f1)
ip_hostile_start STALL1 "$T_WORK/big" --blob stall1:2097152
t_expect_exit 0 "$IMGPULL" pull --plain-http "$HOSTILE_STALL1_ADDR" --progress plain --chunk-size 2M \
  --connections 4 --stall-timeout 3s --dest "$T_WORK/stall1" "$HOSTILE_STALL1_ADDR/hostile/app:v1"
ip_check_layout "$T_WORK/stall1"
grep "blobs/$big " "$HOSTILE_STALL1_LOG" >"$T_WORK/stall1.req"
stalled_port=$(awk '/range=bytes=2097152-/ && /mode=stall/ {sub("port=","",$6); print $6}' "$T_WORK/stall1.req")
again_port=$(awk '/range=bytes=2097152-/ && /mode=ok/ {sub("port=","",$6); print $6}' "$T_WORK/stall1.req")
[[ -n "$stalled_port" && -n "$again_port" ]] || t_fail "expected the range at 2 MiB stalled once and asked again: $(cat "$T_WORK/stall1.req")"
[[ "$stalled_port" != "$again_port" ]] || t_fail "the stalled range was asked again on the same connection"
others=$(grep -v 'range=bytes=2097152-' "$T_WORK/stall1.req" | grep -c 'status=206 sent=2097152' || true)
[[ $others -ge 2 ]] || t_fail "the other ranges should have completed: $(cat "$T_WORK/stall1.req")"
t_assert_file_contains "$T_ERR" "retry $big: .*stalled: nothing arrived for 3 s" "the stall is reported as a retry"
t_ok "stalled range re-requested on another connection (port $stalled_port -> $again_port)"
t_pass
