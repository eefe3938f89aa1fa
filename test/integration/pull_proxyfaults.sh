#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Faults injected by a proxy of the project's own (test/lib/faultproxy.py) between
# imgpull and the real servers: docker-registry (Basic auth, redirecting blobs) and
# the nginx blob store. One fault per pull, each into a fresh layout that skopeo then
# copies out (verifying every blob itself):
#   a reset after N bytes, a body cut short, a 503 from the store and from the
#   registry, 429 with Retry-After (honoured) and without (three in a row), a 200 with
#   the whole blob where a range was asked, a 206 with a wrong Content-Range, a range
#   that stalls while the others flow (the longest stall before recovery is measured),
#   presigned redirect URLs that expire mid-pull (the registry is asked again), and one
#   corrupted byte (exit 6, nothing kept, the rerun fetches the blob anew).
# Each retried fault is counted with its cause in the pull's summary, and a retry asks
# only for the bytes that did not arrive.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

ip_redirect_setup S3 MAIN --reject-auth --fault-proxy STORE --htpasswd alice:s3cr3t-pw \
  --push ml/app:v1 --layer 6M --layer 2M --layer 30K
ip_faultproxy_start REG "$REG_MAIN_ADDR"
ip_faultproxy_start REGX "$REG_MAIN_ADDR" --expire-redirects 1
big=$(echo "$T_IMG_LAYERS" | cut -d' ' -f1)
bigsize=$(echo "$T_IMG_LAYER_SIZES" | cut -d' ' -f1)
bighex=${big#sha256:}
M=1048576

# rules PROXY TEXT: the proxy's rules from now on (the other proxies' are emptied).
rules() {
  : >"$FAULT_STORE_RULES"
  : >"$FAULT_REG_RULES"
  : >"$FAULT_REGX_RULES"
  local v="FAULT_$1_RULES"
  printf '%s\n' "$2" >"${!v}"
}

# fault_pull FRONT WANT_EXIT [ARGS...]: pull $ref through the registry proxy FRONT
# into $dest (a fresh layout unless DEST is set); the store proxy's log lines of
# this pull go to $dest.store, the summary's fields to $dest.summary (KEY VALUE).
n=0
fault_pull() {
  local front=$1 want=$2
  shift 2
  n=$((n + 1))
  dest=${DEST:-$T_WORK/out$n}
  local v="FAULT_${front}_ADDR" mark
  mark=$(wc -l <"$FAULT_STORE_LOG")
  t_expect_exit "$want" "$IMGPULL" pull --dest "$dest" --creds alice:s3cr3t-pw --plain-http "$REG_MAIN_ADDR" \
    --connect-to "$REG_MAIN_ADDR:${!v}" --chunk-size 1M --connections 4 --progress json "$@" "$ref"
  tail -n +$((mark + 1)) "$FAULT_STORE_LOG" >"$dest.store"
  "$T_PY" - "$T_OUT" >"$dest.summary" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("event") == "summary":
        print("retries", o["retries"])
        print("renewals", o["renewals"])
        for k, v in o["retry_causes"].items():
            print("cause_" + k, v)
PY
}
# field KEY: a value of the last pull's summary (0 when absent).
field() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$dest.summary"; }
# served: body bytes the store sent for the big blob in the last pull.
served() { awk -v h="$bighex" '$0 ~ h && / status=20[06] / { sub("sent=", "", $6); s += $6 } END { print s + 0 }' "$dest.store"; }
check() {
  ip_check_layout "$dest" >/dev/null
  ip_skopeo_check "$dest" "$ref" "$img" 2>/dev/null
}
faults=0

# A TCP reset 300 000 bytes into the second range: retried, counted as "connection".
rules STORE "$bighex reset 300000 at=$M"
fault_pull REG 0
check
grep -q "fault=reset:300000" "$dest.store" || t_fail "the reset was not injected"
t_assert_eq "$(field cause_connection)" 1 "the reset counted as a connection retry"
s=$(served)
((s >= bigsize && s <= bigsize + 300000)) || t_fail "served $s bytes of a $bigsize-byte blob after a reset"
faults=$((faults + 1))
t_ok "reset after 300000 bytes: one retry (connection), $s bytes served for $bigsize"

# A body cut short with a clean close: the retry asks for the rest only.
rules STORE "$bighex short 400000 at=$((2 * M))"
fault_pull REG 0
check
t_assert_eq "$(field cause_short_body)" 1 "the short body counted"
grep -q "range=bytes=$((2 * M + 400000))-$((3 * M - 1)) status=206" "$dest.store" ||
  t_fail "the retry did not ask for bytes $((2 * M + 400000))- only: $(grep -c . "$dest.store") store requests"
t_assert_eq "$(served)" "$bigsize" "not one byte of the big blob served twice"
faults=$((faults + 1))
t_ok "body cut short: the retry fetched the missing $((M - 400000)) bytes only"

# 503 from the store, then from the registry (the blob GET that redirects).
rules STORE "$bighex status 503 at=$((3 * M))"
fault_pull REG 0
check
t_assert_eq "$(field cause_http_503)" 1 "the store's 503 counted"
rules REG "/blobs/$big status 503"
fault_pull REG 0
check
grep -q "blobs/$big .*status=503" "$FAULT_REG_LOG" || t_fail "the registry's 503 was not injected"
t_assert_eq "$(field cause_http_503)" 1 "the registry's 503 counted"
faults=$((faults + 2))
t_ok "503 from the store and from the registry: retried"

# 429 with Retry-After: 2: that range is asked again 2 s later at the earliest.
rules STORE "$bighex status 429 2 at=$((4 * M))"
fault_pull REG 0
check
t_assert_eq "$(field cause_http_429)" 1 "the 429 counted"
"$T_PY" - "$dest.store" "$((4 * M))" <<'PY' || t_fail "Retry-After was not honoured"
import re, sys
t429 = again = None
for line in open(sys.argv[1]):
    m = re.match(r"t=([\d.]+)-([\d.]+) GET \S+ range=bytes=(\d+)-\S* status=(\d+)", line)
    if not m or m.group(3) != sys.argv[2]:
        continue
    if m.group(4) == "429":
        t429 = float(m.group(2))
    elif t429 is not None and again is None:
        again = float(m.group(1))
assert t429 and again, "no 429 or no retry after it"
assert again - t429 >= 1.9, "asked again %.2f s after a Retry-After: 2" % (again - t429)
print("  retried %.2f s after the 429 (Retry-After: 2)" % (again - t429))
PY
# Three 429s without Retry-After in a row: backed off, slowed down, finished.
rules STORE "$bighex status 429 times=3"
fault_pull REG 0
check
t_assert_eq "$(field cause_http_429)" 3 "the three 429s counted"
# Each 429 halves how many connections the store gets (4 at first).
grep -o '"detail":"HTTP 429, [0-9]* connections\? to this server now' "$T_OUT" | grep -o '[0-9]* conn' >"$T_WORK/caps"
[[ $(wc -l <"$T_WORK/caps") -eq 3 && $(sort -n "$T_WORK/caps" | head -1 | cut -d' ' -f1) -lt 4 ]] ||
  t_fail "the 429s did not slow the store's connections down: $(tr '\n' ' ' <"$T_WORK/caps")"
faults=$((faults + 4))
t_ok "429 with Retry-After honoured; three 429s without it backed off, cut the store to $(sort -n "$T_WORK/caps" | head -1 | cut -d' ' -f1) connection(s), and finished"

# A 200 with the whole blob where a range was asked, and a 206 whose
# Content-Range is one byte off.
rules STORE "$bighex norange at=$((4 * M))"
fault_pull REG 0
check
grep -q "fault=norange$" "$dest.store" || t_fail "norange was not injected"
grep -q "range=bytes=$((4 * M))-.* status=200 " "$dest.store" || t_fail "the store did not answer 200 to the ranged request"
rules STORE "$bighex badrange at=$((5 * M))"
fault_pull REG 0
check
t_assert_eq "$(field cause_protocol)" 1 "the wrong Content-Range counted as a protocol retry"
faults=$((faults + 2))
t_ok "200 for a range, and a Content-Range one byte off: handled"

# One range stalls for 60 s after 100 000 bytes: with --stall-timeout 2s it is
# dropped and asked again for the rest while the other ranges flow.
rules STORE "$bighex stall 100000 60 at=$M"
fault_pull REG 0 --stall-timeout 2s
check
t_assert_eq "$(field cause_timeout)" 1 "the stall counted as a timeout"
stall=$("$T_PY" - "$dest.store" "$M" <<'PY'
import re, sys
start = again = None
others = 0
lines = [re.match(r"t=([\d.]+)-([\d.]+) GET \S+ range=bytes=(\d+)-\S* status=(\d+) .*fault=(\S+)", l)
         for l in open(sys.argv[1])]
lines = [m for m in lines if m]
for m in lines:
    if m.group(5).startswith("stall"):
        start = float(m.group(1))
for m in lines:
    b = float(m.group(1))
    if start and b > start and int(m.group(3)) > int(sys.argv[2]) and int(m.group(3)) < int(sys.argv[2]) * 2 and again is None:
        again = b
    if start and start < float(m.group(2)) < start + 2 and not m.group(5).startswith("stall"):
        others += 1
assert start and again, "no stalled range, or no retry of it"
assert others >= 1, "no other range finished while one stalled"
print("%.2f %d" % (again - start, others))
PY
) || t_fail "the stalled range was not recovered as it should"
read -r stall_s stall_others <<<"$stall"
awk -v s="$stall_s" 'BEGIN { exit !(s < 6) }' || t_fail "recovering from the stall took $stall_s s"
faults=$((faults + 1))
t_ok "a range stalled: recovered after $stall_s s (--stall-timeout 2s), $stall_others other ranges finished meanwhile"

# Presigned redirect URLs that expire 1 s after the registry hands them out,
# and a store that sends 1 MB/s per request: the store answers 403 for
# expired URLs, and the registry is asked for fresh ones.
rules STORE "$bighex rate 1000000 times=1000"
fault_pull REGX 0
check
expired=$(grep -c "status=403 .*fault=expired" "$dest.store" || true)
((expired >= 1)) || t_fail "no redirect URL expired during the pull"
t_assert_eq "$(field cause_redirect_expired)" "$(field renewals)" "every renewal was an expired redirect"
(($(field renewals) >= 1)) || t_fail "no renewal counted"
faults=$((faults + 1))
t_ok "$expired requests met an expired redirect URL; $(field renewals) renewals from the registry, pull verified"

# One flipped byte: exit 6, the blob is not in the layout and nothing of it is
# kept; the rerun without the fault fetches it whole and verifies.
rules STORE "$bighex corrupt 5000 at=$M"
fault_pull REG 6
t_assert_file_contains "$T_ERR" "blob $big from .* has digest" "the digest mismatch is named"
[[ ! -e "$dest/blobs/sha256/$bighex" ]] || t_fail "a corrupt blob entered the layout"
! t_exists "$dest/ingest/$bighex*" || t_fail "the corrupt partial file was kept: $(ls "$dest/ingest")"
corrupt_dest=$dest
rules STORE ""
DEST=$corrupt_dest fault_pull REG 0
check
t_assert_eq "$(served)" "$bigsize" "the rerun fetched the whole blob anew"
faults=$((faults + 1))
t_ok "a corrupted byte: exit 6, nothing kept; the rerun fetched and verified the blob"

t_log "$faults faults injected over $n pulls"
t_pass
