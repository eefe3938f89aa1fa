#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The init container's contract: configured by environment variables only
# (flags win over them, a bad one is a usage error naming it, `imgpull help pull`
# shows each), JSON lines on stderr when it is not a terminal (every line parses,
# has ts/level/msg and the event's fields, no secret at -v -v), the termination
# message on every exit (success, each failure class, 50 images within 4096
# bytes, SIGTERM), and SIGTERM during a large pull: exit 143 within 2 s with the
# partial files kept and the images that finished readable.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
unset IMGPULL_LOG_FORMAT # this test looks at imgpull's own choice

ip_redirect_setup S3 MAIN --rate 1m --htpasswd robot:s3cr3t-pw \
  --push team/small:v1 --oci "$T_WORK/small" --layer 1M --layer 300K
small_img=$img
ip_push_image "$REG_MAIN_ADDR" team/big:v1 --oci "$T_WORK/big" --layer 48M --layer 2M
secret="$T_WORK/secret"
mkdir -p "$secret"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG_MAIN_ADDR" "$(printf robot:s3cr3t-pw | base64 -w0)" >"$secret/.dockerconfigjson"
small="$REG_MAIN_ADDR/team/small:v1"
big="$REG_MAIN_ADDR/team/big:v1"

# --- every option of pull and auth has its variable in the help
for cmd in pull auth bench; do
  "$IMGPULL" help "$cmd" >"$T_WORK/help.$cmd"
  opts=$(grep -oE '^  (-., )?--[a-z-]+' "$T_WORK/help.$cmd" | sed 's/.*--//' | grep -vx help)
  for o in $opts; do
    var="IMGPULL_$(echo "$o" | tr 'a-z-' 'A-Z_')"
    grep -q "\$$var\b" "$T_WORK/help.$cmd" || t_fail "imgpull help $cmd does not show $var for --$o"
  done
  t_ok "imgpull help $cmd shows a variable for each of its $(echo "$opts" | wc -w) options"
done

# --- a pull configured by variables only (as a pod spec would), JSON logs at -v -v
t_expect_exit 0 env IMGPULL_DEST="$T_WORK/env" IMGPULL_IMAGES="$small, $big" \
  IMGPULL_SECRET="$secret" IMGPULL_PLAIN_HTTP="$REG_MAIN_ADDR" IMGPULL_CONNECTIONS=4 \
  IMGPULL_CHUNK_SIZE=8M IMGPULL_VERBOSE=2 IMGPULL_TERMINATION_LOG="$T_WORK/term.ok" \
  IMGPULL_FSYNC=true IMGPULL_METRICS="$T_WORK/metrics.ok" "$IMGPULL" pull
ip_check_layout "$T_WORK/env"
ip_skopeo_check "$T_WORK/env" "$small" "$small_img"
t_assert_eq "$(jq '.manifests | length' "$T_WORK/env/index.json")" 2 "both images from IMGPULL_IMAGES"
[[ ! -s "$T_OUT" ]] || t_fail "stdout should be empty when stderr carries JSON logs: $(head -3 "$T_OUT")"
n=0
while IFS= read -r line; do
  n=$((n + 1))
  jq -e '(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")) and
         (.level | IN("error","warn","info","debug")) and (.msg | type == "string")' <<<"$line" >/dev/null ||
    t_fail "stderr line $n is not a JSON log record with ts, level and msg: $line"
done <"$T_ERR"
((n > 10)) || t_fail "expected a debug log, got $n lines"
# records FILE MSG FILTER: FILE has records with msg MSG, and FILTER holds for all of them.
records() { jq -s -e --arg m "$2" "[.[] | select(.msg == \$m)] | length > 0 and all($3)" "$1" >/dev/null; }
records "$T_ERR" "image resolved" '.image and .digest and .blobs' || t_fail "no image resolved record"
records "$T_ERR" "blob done" '.digest and .bytes and .seconds' || t_fail "no blob done record"
records "$T_ERR" "progress" '.bytes and .total and .bytes_per_second and (.eta_seconds != null)' ||
  t_fail "no progress record with bytes, total, rate and ETA (the pull takes more than 5 s)"
records "$T_ERR" "pulled" '.images == 2 and .bytes > 0 and .seconds > 0' || t_fail "no summary record"
t_assert_file_lacks "$T_ERR" "s3cr3t|$(printf robot:s3cr3t-pw | base64 -w0)|Authorization" "no secret in the JSON log at -v -v"
t_ok "$n JSON log lines, all well-formed, none with a secret"
t_assert_eq "$(head -1 "$T_WORK/term.ok" | cut -d' ' -f1-3)" "pulled 2 images," "termination message head"
t_assert_file_contains "$T_WORK/term.ok" "^$small $small_img [0-9]+ bytes [0-9.]+ s [0-9.]+ MB/s$" "termination record of an image"
t_assert_eq "$(wc -l <"$T_WORK/term.ok")" 3 "one line per image after the head"

# Metrics: strict Prometheus text format, and figures that agree with the pull.
"$T_PY" "$IMGPULL_SRC/test/lib/promcheck.py" "$T_WORK/metrics.ok" >"$T_WORK/metrics.json" ||
  t_fail "the metrics file is not valid Prometheus text: $(cat "$T_WORK/metrics.ok")"
blob_bytes=$(jq '[.[] | select(.msg == "blob started" or .msg == "blob present") | .bytes] | add' -s "$T_ERR")
jq -e --argjson b "$blob_bytes" --arg s "$small" --arg d "$small_img" '
  .["imgpull_pull_success{}"] == 1 and .["imgpull_pull_exit_code{class=\"ok\"}"] == 0 and
  .["imgpull_pull_bytes{}"] == $b and .["imgpull_pull_downloaded_bytes{}"] == $b and
  .["imgpull_pull_blobs{state=\"downloaded\"}"] == 6 and .["imgpull_pull_duration_seconds{}"] > 0 and
  .["imgpull_pull_max_rss_bytes{}"] > 1000000 and .["imgpull_pull_cpu_seconds{}"] > 0 and
  (.["imgpull_image_bytes{digest=\"" + $d + "\",image=\"" + $s + "\"}"] > 0) and
  (.["imgpull_image_seconds{digest=\"" + $d + "\",image=\"" + $s + "\"}"] > 0)' "$T_WORK/metrics.json" >/dev/null ||
  t_fail "metrics do not agree with the pull ($blob_bytes blob bytes): $(cat "$T_WORK/metrics.json")"
printf '# TYPE x gauge\nx{a="b\\q"} 1\n' >"$T_WORK/bad.prom" # a bad escape: the checker must refuse it
! "$T_PY" "$IMGPULL_SRC/test/lib/promcheck.py" "$T_WORK/bad.prom" >/dev/null 2>&1 || t_fail "promcheck accepts a bad escape"
t_ok "metrics: valid exposition format, bytes and blobs as pulled"

# --- flags win over their variables, even over a bad one
t_expect_exit 0 env IMGPULL_DEST=/nonexistent/never IMGPULL_CONNECTIONS=bogus IMGPULL_LOG_FORMAT=text \
  IMGPULL_PLAIN_HTTP="$REG_MAIN_ADDR" IMGPULL_SECRET="$secret" \
  "$IMGPULL" pull --dest "$T_WORK/flags" --connections 2 --termination-log "$T_WORK/term.flags" "$small"
[[ ! -e /nonexistent ]] || t_fail "the variable's destination was used"
ip_skopeo_check "$T_WORK/flags" "$small" "$small_img"
t_assert_file_lacks "$T_WORK/flags/index.json" "team/big" "operands win over IMGPULL_IMAGES"

# --- a bad variable is a usage error naming it; the termination message says so
badvar() {
  t_expect_exit 2 env IMGPULL_LOG_FORMAT=text "$1=$2" "$IMGPULL" pull --dest "$T_WORK/bad" \
    --termination-log "$T_WORK/term.bad" "$small"
  t_assert_file_contains "$T_ERR" "^imgpull: error: $1" "$1='$2' is named"
  t_assert_file_contains "$T_WORK/term.bad" "^error: usage \(exit 2\): $1" "termination message for $1"
  [[ ! -e "$T_WORK/bad" ]] || t_fail "$1='$2' created the layout"
}
badvar IMGPULL_CHUNK_SIZE " 16M"
badvar IMGPULL_CONNECTIONS 0
badvar IMGPULL_FSYNC maybe
badvar IMGPULL_VERBOSE lots
badvar IMGPULL_PLAIN_HTTP " , "
badvar IMGPULL_TIMEOUT 5x
badvar IMGPULL_PROGRESS fancy
t_expect_exit 2 env IMGPULL_LOG_FORMAT=xml "$IMGPULL" pull --dest "$T_WORK/bad" "$small"
jq -e 'select(.level == "error") | (.msg | startswith("IMGPULL_LOG_FORMAT: ")) and .exit_code == 2' "$T_ERR" >/dev/null ||
  t_fail "a bad IMGPULL_LOG_FORMAT is named (in a JSON record, the default off a terminal): $(cat "$T_ERR")"
t_expect_exit 2 env IMGPULL_IMAGES="$REG_MAIN_ADDR/Bad/Name:v1" IMGPULL_LOG_FORMAT=text "$IMGPULL" pull --dest "$T_WORK/bad"
t_assert_file_contains "$T_ERR" "IMGPULL_IMAGES" "a bad reference in IMGPULL_IMAGES is named"

# --- the termination message for each failure class, JSON error record on stderr
term_class() { # CODE CLASS ARGS...
  local code=$1 cls=$2
  shift 2
  t_expect_exit "$code" "$IMGPULL" pull --termination-log "$T_WORK/term.$code" --plain-http "$REG_MAIN_ADDR" "$@"
  t_assert_file_contains "$T_WORK/term.$code" "^error: $cls \(exit $code\): " "termination message for exit $code"
  jq -s -e --arg c "$cls" "[.[] | select(.level == \"error\")] | length == 1 and all(.class == \$c and .exit_code == $code)" \
    "$T_ERR" >/dev/null || t_fail "no JSON error record with class $cls: $(cat "$T_ERR")"
  (($(wc -c <"$T_WORK/term.$code") <= 4096)) || t_fail "termination message over 4096 bytes"
}
term_class 2 usage --dest "$T_WORK/c2" --chunk-size 1 "$small"
term_class 3 auth --dest "$T_WORK/c3" --creds robot:wrong --metrics "$T_WORK/metrics.3" "$small"
"$T_PY" "$IMGPULL_SRC/test/lib/promcheck.py" "$T_WORK/metrics.3" >"$T_WORK/metrics3.json" || t_fail "metrics of a failed pull"
jq -e '.["imgpull_pull_success{}"] == 0 and .["imgpull_pull_exit_code{class=\"auth\"}"] == 3' "$T_WORK/metrics3.json" >/dev/null ||
  t_fail "metrics of a failed pull: $(cat "$T_WORK/metrics3.json")"
t_assert_file_contains "$T_WORK/term.3" "^image $small: not resolved" "the image an auth error concerns"
term_class 4 "not found" --dest "$T_WORK/c4" --secret "$secret" "$REG_MAIN_ADDR/team/none:v1"
term_class 5 network --dest "$T_WORK/c5" --retries 0 "127.0.0.1:1/team/x:v1"
cp -r "$storage" "$T_WORK/storage-bad"
f=$(t_blob_path "$T_WORK/storage-bad" "$(echo "$T_IMG_LAYERS" | cut -d' ' -f2)")
printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
t_registry_start BAD --root "$T_WORK/storage-bad"
t_expect_exit 6 "$IMGPULL" pull --termination-log "$T_WORK/term.6" --plain-http "$REG_BAD_ADDR" --dest "$T_WORK/c6" "$REG_BAD_ADDR/team/big:v1"
t_assert_file_contains "$T_WORK/term.6" "^error: integrity \(exit 6\): " "termination message for exit 6"
t_assert_file_contains "$T_WORK/term.6" "^image $REG_BAD_ADDR/team/big:v1: not finished" "the image an integrity error concerns"
touch "$T_WORK/notadir"
term_class 7 storage --dest "$T_WORK/notadir/layout" --secret "$secret" "$small"

# --- 50 images: the message stays within 4096 bytes, of whole records
manifest=$(curl -sf -u robot:s3cr3t-pw -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG_MAIN_ADDR/v2/team/small/manifests/v1")
refs=()
for i in $(seq -w 1 50); do
  curl -sf -u robot:s3cr3t-pw -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "$manifest" "http://$REG_MAIN_ADDR/v2/team/small/manifests/tag-with-a-long-name-$i" >/dev/null ||
    t_fail "cannot tag image $i"
  refs+=("$REG_MAIN_ADDR/team/small:tag-with-a-long-name-$i")
done
t_expect_exit 0 "$IMGPULL" pull --termination-log "$T_WORK/term.50" --plain-http "$REG_MAIN_ADDR" --secret "$secret" \
  --dest "$T_WORK/fifty" "${refs[@]}"
bytes=$(wc -c <"$T_WORK/term.50")
((bytes <= 4096)) || t_fail "50 images: termination message of $bytes bytes"
while IFS= read -r line; do
  [[ "$line" =~ ^pulled\ 50\ images ]] || [[ "$line" =~ ^$REG_MAIN_ADDR/team/small:tag-with-a-long-name-[0-9]{2}\ sha256:[0-9a-f]+\ [0-9]+\ bytes\ [0-9.]+\ s ]] ||
    [[ "$line" =~ ^\.\.\.\ and\ [0-9]+\ more$ ]] || t_fail "50 images: not a whole record: '$line'"
done <"$T_WORK/term.50"
t_ok "50 images: $bytes bytes, $(($(wc -l <"$T_WORK/term.50") - 1)) whole records"

# --- SIGTERM during a large pull
"$IMGPULL" pull --termination-log "$T_WORK/term.sig" --plain-http "$REG_MAIN_ADDR" --secret "$secret" \
  --connections 2 --chunk-size 8M --dest "$T_WORK/sig" "$small" "$big" >"$T_WORK/sig.out" 2>"$T_WORK/sig.err" &
pid=$!
for ((i = 0; i < 100; i++)); do
  records "$T_WORK/sig.err" "image done" '.image' 2>/dev/null && break
  sleep 0.1
done
sleep 1
t0=$(date +%s.%N)
kill -TERM "$pid"
t_wait_exit "$pid" 143 "$T_WORK/sig.err" "pull after SIGTERM"
took=$(echo "$(date +%s.%N) - $t0" | bc)
(($(echo "$took < 2" | bc))) || t_fail "took ${took}s to stop after SIGTERM"
t_assert_file_contains "$T_WORK/term.sig" "^interrupted by SIGTERM \(exit 143\): [1-9][0-9]* bytes kept for a later run" "termination message after SIGTERM"
t_assert_file_contains "$T_WORK/term.sig" "^image $big: not finished" "the unfinished image is named"
ls "$T_WORK/sig/ingest/"*.partial >/dev/null 2>&1 || t_fail "partial files are kept after SIGTERM"
ls "$T_WORK/sig/ingest/"*.progress >/dev/null 2>&1 || t_fail "progress records are kept after SIGTERM"
ip_skopeo_check "$T_WORK/sig" "$small" "$small_img"
t_expect_exit 0 "$IMGPULL" verify --dest "$T_WORK/sig"
t_ok "stopped $(printf '%.2f' "$took") s after SIGTERM; the finished image is readable, the layout verifies"
t_pass
