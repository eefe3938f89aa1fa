#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# imgpull bench against an authenticated registry that redirects blobs to an
# nginx store capped per connection: the JSON report's figures agree with the
# servers' logs (bytes within 1 %, as many range requests as the store logged,
# as many redirects as the registry's blob GETs), each run's temporary layout
# is gone afterwards, --discard writes nothing (no file, no space used) yet
# verifies every byte (a corrupted blob fails with exit 6), the timeline is
# valid SVG with a bar per logged request and a lane per connection and
# renders (rsvg-convert), the metrics parse as Prometheus text, and --sweep
# reports one row per value and picks the fastest.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
# In a private mount namespace: --discard's TMPDIR is a tmpfs of the test's own,
# whose free space nothing else changes.
ip_mount_ns "$@"
t_workdir
command -v rsvg-convert >/dev/null || t_fail "rsvg-convert is missing (Debian librsvg2-bin; scripts/deps.sh installs it)"

ip_redirect_setup S3 MAIN --reject-auth --rate 20m --htpasswd alice:s3cr3t-pw \
  --push ml/model:v1 --layer 2M --layer 24M --layer 20K
big=$(echo "$T_IMG_LAYERS" | cut -d' ' -f2)
store_port=${BLOB_S3_URL##*:}
access=(--plain-http "$REG_MAIN_ADDR" --creds alice:s3cr3t-pw --chunk-size 2M --connections 6)
check="$IMGPULL_SRC/test/lib/benchcheck.py"

# Lines the servers logged since the mark (so each check sees one bench).
mark() { store_mark=$(wc -l <"$BLOB_S3_LOG"); reg_mark=$(wc -l <"$REG_MAIN_LOG"); }
since() {
  tail -n +$((store_mark + 1)) "$BLOB_S3_LOG" >"$1.store"
  tail -n +$((reg_mark + 1)) "$REG_MAIN_LOG" >"$1.reg"
}

# --- three runs into temporary layouts: the JSON against the logs
tmp="$T_WORK/tmp"
mkdir -p "$tmp"
mark
t_expect_exit 0 env TMPDIR="$tmp" "$IMGPULL" bench --json --runs 3 --metrics "$T_WORK/bench.prom" \
  "${access[@]}" "$ref"
cp "$T_OUT" "$T_WORK/report.json"
since "$T_WORK/report"
"$T_PY" "$check" report "$T_WORK/report.json" "$T_WORK/report.store" "$T_WORK/report.reg" ml/model >"$T_WORK/check" ||
  t_fail "the report disagrees with the servers: $(cat "$T_WORK/check")"
t_ok "JSON report agrees with the servers' logs: $(cat "$T_WORK/check")"
jq -e '.runs[] | (.bytes_by_host | length) >= 1 and ([.bytes_by_host[]] | add) >= .downloaded_bytes' \
  "$T_WORK/report.json" >/dev/null || t_fail "a run's bytes_by_host does not account for its bytes"
t_ok "each run's bytes by host account for what it downloaded"
[[ -z "$(ls -A "$tmp")" ]] || t_fail "bench left files in TMPDIR: $(ls -A "$tmp")"
t_ok "each run's temporary layout was removed"
"$T_PY" "$IMGPULL_SRC/test/lib/promcheck.py" "$T_WORK/bench.prom" >"$T_WORK/prom.json" ||
  t_fail "the bench's metrics do not parse as Prometheus text"
jq -e '."imgpull_bench_success{}" == 1 and (to_entries | map(select(.key | startswith("imgpull_bench_duration_seconds{"))) | length) == 4' \
  "$T_WORK/prom.json" >/dev/null || t_fail "metrics lack the success or the 3 runs + median durations"
t_ok "metrics parse as Prometheus text (3 runs and the median per figure)"

# --- the table on a terminal-less stdout, and --dest as the parent directory
mark
t_expect_exit 0 "$IMGPULL" bench --runs 1 --dest "$T_WORK/parent" --timeline "$T_WORK/timeline.svg" \
  "${access[@]}" "$ref"
cp "$T_OUT" "$T_WORK/table.txt"
since "$T_WORK/tl"
for col in total_s resolve ttfb_s MB/s requests retries redirects cpu_s peak_rss median; do
  grep -q -- "$col" "$T_WORK/table.txt" || t_fail "the table lacks $col: $(cat "$T_WORK/table.txt")"
done
grep -q "${big:7:12}" "$T_WORK/table.txt" || t_fail "the table lacks the per-blob rows"
[[ -z "$(ls -A "$T_WORK/parent")" ]] || t_fail "bench left files under --dest"
t_ok "table with every figure and the blobs; --dest left empty"

# --- the timeline: valid XML, a bar per logged request, a lane per connection, renders
"$T_PY" "$check" svg "$T_WORK/timeline.svg" "$T_WORK/tl.store" "$T_WORK/tl.reg" ml/model "$store_port" \
  "$REG_MAIN_PORT" >"$T_WORK/check" || t_fail "timeline: $(cat "$T_WORK/check")"
rsvg-convert "$T_WORK/timeline.svg" -o "$T_WORK/timeline.png" || t_fail "rsvg-convert cannot draw the timeline"
[[ $(file -b "$T_WORK/timeline.png") == "PNG image data, 1200 x "* ]] ||
  t_fail "rendered: $(file -b "$T_WORK/timeline.png")"
t_ok "timeline: $(cat "$T_WORK/check"); rendered $(file -b "$T_WORK/timeline.png")"

# The drawing alone at scale (test_timeline's charts): 200 requests, 20 000
# requests, 256 lanes, hostile text: each parses and renders.
[[ -x "${IMGPULL_TEST_TIMELINE:-}" ]] || t_fail "IMGPULL_TEST_TIMELINE (the test_timeline binary) is not set"
mkdir -p "$T_WORK/charts"
IMGPULL_TIMELINE_OUT="$T_WORK/charts" "$IMGPULL_TEST_TIMELINE" >"$T_WORK/charts.log" 2>&1 ||
  t_fail "test_timeline: $(tail -20 "$T_WORK/charts.log")"
n=0
for f in "$T_WORK"/charts/*.svg; do
  "$T_PY" -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$f" || t_fail "$f is not valid XML"
  rsvg-convert "$f" -o "${f%.svg}.png" || t_fail "rsvg-convert cannot draw $f"
  n=$((n + 1))
done
big_chart=$(ls "$T_WORK"/charts/*20000*.svg) || t_fail "no 20 000-request chart"
[[ $(grep -o '<g class="req' "$big_chart" | wc -l) -eq 20000 ]] || t_fail "the 20 000-request chart lacks bars"
t_ok "$n charts parse and render, the 20 000-request one $(stat -c %s "$big_chart") bytes"

# --- --discard: every byte verified, nothing written
dtmp="$T_WORK/dtmp"
mkdir -p "$dtmp"
mount -t tmpfs -o size=64m tmpfs "$dtmp" || t_fail "cannot mount a tmpfs (the test needs root)"
free_before=$(df --output=avail -B1 "$dtmp" | tail -1)
mark
t_expect_exit 0 env TMPDIR="$dtmp" "$IMGPULL" bench --discard --json --runs 1 "${access[@]}" "$ref"
cp "$T_OUT" "$T_WORK/discard.json"
free_after=$(df --output=avail -B1 "$dtmp" | tail -1)
since "$T_WORK/discard"
"$T_PY" "$check" report "$T_WORK/discard.json" "$T_WORK/discard.store" "$T_WORK/discard.reg" ml/model >/dev/null ||
  t_fail "discard report disagrees with the servers"
[[ $(jq -r .mode "$T_WORK/discard.json") == discard ]] || t_fail "mode is not discard"
# Held for the hash: some, and never more than (connections + 2) x chunk size.
jq -e '.runs[0].discard_memory_peak_bytes > 0 and .runs[0].discard_memory_peak_bytes <= 8 * 2097152' \
  "$T_WORK/discard.json" >/dev/null ||
  t_fail "held in memory: $(jq .runs[0].discard_memory_peak_bytes "$T_WORK/discard.json") bytes, window 16 MiB"
jq -e '[.runs[].discard_memory_peak_bytes] | all(. == 0)' "$T_WORK/report.json" >/dev/null ||
  t_fail "a layout run reports memory held for --discard"
[[ -z "$(ls -A "$dtmp")" ]] || t_fail "--discard wrote into TMPDIR: $(ls -A "$dtmp")"
# TMPDIR is a filesystem of its own: a layout would take 26 MB of it.
((free_before == free_after)) || t_fail "--discard used $((free_before - free_after)) bytes of TMPDIR's filesystem"
t_ok "--discard: nothing in TMPDIR, its filesystem's free space unchanged ($free_after bytes)"
umount "$dtmp"

# --- --sweep: one row per value, the fastest picked
t_expect_exit 0 "$IMGPULL" bench --discard --json --runs 1 --warmup --sweep connections=1,6 "${access[@]}" "$ref"
cp "$T_OUT" "$T_WORK/sweep.json"
grep -q "warm-up run (not counted)" "$T_ERR" || t_fail "no warm-up run: $(cat "$T_ERR")"
[[ $(grep -c ' run 1/1: ' "$T_ERR") -eq 2 ]] || t_fail "expected one timed run per value: $(cat "$T_ERR")"
"$T_PY" "$check" sweep "$T_WORK/sweep.json" 1 6 >"$T_WORK/check" || t_fail "sweep: $(cat "$T_WORK/check")"
t_expect_exit 0 "$IMGPULL" bench --discard --runs 1 --sweep chunk-size=1M,4M "${access[@]}" "$ref"
cp "$T_OUT" "$T_WORK/sweep.txt"
[[ $(grep -cE '^ +(1M|4M) ' "$T_WORK/sweep.txt") -eq 2 ]] || t_fail "sweep table: $(cat "$T_WORK/sweep.txt")"
grep -qE '^fastest: chunk-size=(1M|4M) ' "$T_WORK/sweep.txt" || t_fail "no fastest line: $(cat "$T_WORK/sweep.txt")"
t_ok "sweep: $(cat "$T_WORK/check"); the table has a row per chunk size and the fastest"

# --- a throttling store that also refuses some requests (as an expired presigned
# URL): the retries, their causes and the renewals are the ones the store logged
ip_redirect_setup THR THR --reject-auth --rate 20m --limit-req 10r/s --refuse-pct 10 --htpasswd alice:s3cr3t-pw
t_expect_exit 0 "$IMGPULL" bench --discard --json --runs 1 --plain-http "$REG_THR_ADDR" --creds alice:s3cr3t-pw \
  --chunk-size 2M --connections 6 "$REG_THR_ADDR/ml/model:v1"
cp "$T_OUT" "$T_WORK/thr.json"
"$T_PY" "$check" report "$T_WORK/thr.json" "$BLOB_THR_LOG" "$REG_THR_LOG" ml/model >/dev/null ||
  t_fail "the throttled report disagrees with the servers"
n429=$(grep -c '" 429 ' "$BLOB_THR_LOG" || true)
n403=$(grep -c '" 403 ' "$BLOB_THR_LOG" || true)
jq -e --argjson a "$n429" --argjson b "$n403" \
  '.runs[0] | .retries == $a and (.retry_causes.http_429 // 0) == $a and .renewals == $b and
   (.retry_causes.redirect_expired // 0) == $b' "$T_WORK/thr.json" >/dev/null ||
  t_fail "the store answered 429 $n429 times and 403 $n403 times; the report: $(jq -c '.runs[0] | {retries, renewals, retry_causes}' "$T_WORK/thr.json")"
((n429 > 0)) || t_fail "the throttling store never throttled"
t_ok "throttled store: $n429 x 429 and $n403 x 403 logged, reported as retries and renewals with their causes"

# --- SIGTERM (as the kubelet sends it) ends the bench at once: the run's pull is
# interrupted, its temporary layout removed, exit 143
ip_redirect_setup SLOW SLOW --reject-auth --rate 1m --htpasswd alice:s3cr3t-pw
stmp="$T_WORK/stmp"
mkdir -p "$stmp"
TMPDIR="$stmp" "$IMGPULL" bench --runs 3 --plain-http "$REG_SLOW_ADDR" --creds alice:s3cr3t-pw \
  "$REG_SLOW_ADDR/ml/model:v1" >"$T_WORK/term.out" 2>"$T_WORK/term.err" &
pid=$!
sleep 1.5
[[ -n "$(ls -A "$stmp")" ]] || t_fail "no run in progress after 1.5 s: $(cat "$T_WORK/term.err")"
t0=$(date +%s.%N)
kill -TERM "$pid"
t_wait_exit "$pid" 143 "$T_WORK/term.err" "bench after SIGTERM"
took=$(echo "$(date +%s.%N) - $t0" | bc)
(($(echo "$took < 3" | bc))) || t_fail "bench took $took s to end after SIGTERM"
[[ -z "$(ls -A "$stmp")" ]] || t_fail "an interrupted bench left $(ls -A "$stmp")"
t_ok "SIGTERM: exit 143 after $took s, the temporary layout removed"

# --- bad values are usage errors
t_expect_exit 2 "$IMGPULL" bench --sweep retries=1,2 "$ref"
t_expect_exit 2 "$IMGPULL" bench --sweep connections=4,0 "$ref"
t_expect_exit 2 "$IMGPULL" bench --runs 0 "$ref"

# --- a failed run ends the bench with the run's own class and exit status: in
# the JSON report (its top and the run), in the error record, and as the exit
# status (the record used to say network, 5, whatever the run met)
# failed_run CODE CLASS RUNS BENCH-ARGS...: RUNS is how many runs the report
# holds (the failed timed run, or none when the warm-up failed)
failed_run() {
  local code=$1 class=$2 runs=$3
  shift 3
  t_expect_exit "$code" "$IMGPULL" bench --json --log-format json --runs 1 "$@"
  jq -e --argjson c "$code" --arg k "$class" --argjson n "$runs" \
    '.ok == false and .exit_code == $c and .class == $k and (.runs // [] | length) == $n and
     (.runs // [] | all(.ok == false and .exit_code == $c and .class == $k))' \
    "$T_OUT" >/dev/null || t_fail "the report for $class: $(jq -c '{ok, exit_code, class, error, runs}' "$T_OUT")"
  jq -e -s --argjson c "$code" --arg k "$class" \
    'map(select(.level == "error")) | length == 1 and .[0].class == $k and .[0].exit_code == $c' \
    "$T_ERR" >/dev/null || t_fail "the error record for $class: $(grep '"error"' "$T_ERR")"
  t_ok "$class: exit $code, in the report and the error record"
}
failed_run 4 "not found" 1 "${access[@]}" "$REG_MAIN_ADDR/ml/model:nope"
failed_run 4 "not found" 0 --warmup "${access[@]}" "$REG_MAIN_ADDR/ml/ghost:v1"
failed_run 3 auth 1 --plain-http "$REG_MAIN_ADDR" --creds alice:wrong-pw "$ref"

# --- --discard still verifies: a corrupted byte in the store fails the run (exit 6)
data=$(t_blob_path "$storage" "$big")
printf 'X' | dd of="$data" bs=1 seek=12345678 conv=notrunc status=none
failed_run 6 integrity 1 --discard "${access[@]}" "$ref"
t_ok "a corrupted blob fails --discard with exit 6"

t_pass
