#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Several imgpull processes pull the same multi-layer image into one layout at
# once, through a slowed blob store, in random start orders, with one of them
# SIGKILLed at a random moment. Every trial: the survivors exit 0, every blob in
# blobs/ hashes to its name (sha256sum), index.json names the image, skopeo reads
# it back, and the store served each blob about once (bytes counted in nginx's
# log), because one process fetches a blob while the others wait for it or take
# over what a killed one left.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

TRIALS=${IMGPULL_CONCURRENT_TRIALS:-8} # per process count (2 and 3)
# nginx sends the first second's worth at once
ip_redirect_setup SLOW MAIN --rate 1m --push team/model:v1 --layer 12M --layer 6M --layer 3M --layer 1M
image_bytes=0
for s in $T_IMG_LAYER_SIZES; do image_bytes=$((image_bytes + s)); done
blobs=$(echo "$T_IMG_LAYERS $T_IMG_CONFIG" | wc -w)

# 0 .. $1 ms, in seconds (bash arithmetic: bc's % with a scale is not the remainder).
rand_ms() {
  local ms=$((RANDOM % $1))
  printf '%d.%03d\n' $((ms / 1000)) $((ms % 1000))
}

# trial N PROCS: one trial; prints "served_bytes killed_at_ms" on success.
trial() {
  local n=$1 procs=$2 dest="$T_WORK/layout$1" i
  local before
  before=$(wc -l <"$BLOB_SLOW_LOG")
  local -a pids=()
  local victim=$((RANDOM % procs)) kill_after
  kill_after=$(rand_ms 2000)
  for ((i = 0; i < procs; i++)); do
    (
      sleep "$(rand_ms 800)"
      exec "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress plain --connections 4 --chunk-size 2M \
        --dest "$dest" "$ref" >"$T_WORK/t$n.$i.out" 2>"$T_WORK/t$n.$i.err" </dev/null
    ) &
    pids+=($!)
  done
  # The victim dies at a random moment once it is under way: resolved, and
  # blobs being written into the layout (a slow machine, or a sanitizer build,
  # may take a second from the one to the other).
  local w
  for ((w = 0; w < 200; w++)); do
    grep -qs '^resolved' "$T_WORK/t$n.$victim.err" && compgen -G "$dest/ingest/*.partial" >/dev/null && break
    sleep 0.05
  done
  sleep "$kill_after"
  kill -KILL "${pids[$victim]}" 2>/dev/null || true
  for ((i = 0; i < procs; i++)); do
    local rc=0
    wait "${pids[$i]}" || rc=$?
    if ((i == victim)); then
      [[ $rc -eq 0 || $rc -eq 137 ]] || t_fail "trial $n: the victim exited $rc: $(cat "$T_WORK/t$n.$i.err")"
    else
      [[ $rc -eq 0 ]] || t_fail "trial $n ($procs processes, victim $victim killed at ${kill_after}s): process $i exited $rc:
$(cat "$T_WORK/t$n.$i.err")"
    fi
  done
  ip_check_layout "$dest" >/dev/null 2>&1 || ip_check_layout "$dest"
  local have
  have=$(ls "$dest/blobs/sha256" | wc -l)
  [[ $have -eq $((blobs + 1)) ]] || t_fail "trial $n: $have blobs in the layout, expected $((blobs + 1))"
  t_assert_eq "$(jq -r '.manifests[0].digest' "$dest/index.json")" "$img" "trial $n: index.json names the image"
  local got
  got=$(skopeo inspect --format '{{.Digest}}' "oci:$dest:$ref") || t_fail "trial $n: skopeo cannot read the layout"
  t_assert_eq "$got" "$img" "trial $n: skopeo reads the image"
  local took
  took=$(cat "$T_WORK/t$n".*.err | grep -c 'resuming with' || true)
  tail -n +"$((before + 1))" "$BLOB_SLOW_LOG" | awk -v t="$took" '$6 ~ /^20[06]$/ {s += $7} END {print s + 0, t}'
}

total_served=0
total_image=0
takeovers=0
worst=0
for procs in 2 3; do
  for ((k = 0; k < TRIALS; k++)); do
    n="${procs}_$k"
    read -r served took < <(trial "$n" "$procs") || t_fail "trial $n failed"
    ratio=$(echo "scale=3; $served / $image_bytes" | bc)
    takeovers=$((takeovers + took))
    t_ok "trial $n: $procs processes, one killed; every blob verified; $took blobs taken over; served ${ratio}x the image"
    total_served=$((total_served + served))
    total_image=$((total_image + image_bytes))
    (($(echo "$ratio > $worst" | bc))) && worst=$ratio
    # About once: a killed process loses what it held in memory and had not yet
    # recorded (at most 0.25 s of data and its write buffers), nothing more.
    (($(echo "$ratio <= 1.35" | bc))) || t_fail "trial $n: the store served ${ratio}x the image's bytes"
  done
done
mean=$(echo "scale=3; $total_served / $total_image" | bc)
t_log "$((2 * TRIALS)) trials: bytes served per image pulled: mean ${mean}x, worst ${worst}x; $takeovers blobs taken over with kept bytes"
((takeovers > 0)) || t_fail "no trial had a survivor take over a killed process's partial blob with its bytes"
(($(echo "$mean <= 1.15" | bc))) || t_fail "on average the store served ${mean}x the image's bytes"
t_pass
