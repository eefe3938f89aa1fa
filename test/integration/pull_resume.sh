#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Kill and resume: a pull of a large layer through a store capped per
# connection is SIGKILLed at three points (while resolving, early in the
# layer, later in it) and the same command is run again each time; the last
# run completes. The bytes the store sent over all runs are at most 1.05x the
# image (the ranges on disk are kept, only the missing ones fetched), and the
# layout verifies (sha256sum, skopeo, imgpull verify). Then a reboot between
# the kill and the rerun (records forged to another boot id), with the kept
# prefix intact and with one byte of it changed. Then a SIGTERM, and a blob
# store that goes away until the retries run out: each rerun keeps what was
# written and fetches only the rest.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

ip_redirect_setup S3 MAIN --rate 1m --push ml/weights:v1 --layer 128M --layer 3M --layer 200K
total=$(ip_image_bytes "$ref")
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

# A reboot: the records of a killed pull are made to look written in another
# boot (boot_id changed, resealed). Only the prefix each record has a digest
# for is kept, and only because it hashes to that digest again; then the same
# with one byte of that prefix changed on disk (what a crash that lost the
# page cache leaves): the blob is fetched anew, never committed wrong.
big=$(echo "$T_IMG_LAYERS" | cut -d' ' -f1)
bighex=${big#sha256:}
bigsize=$(echo "$T_IMG_LAYER_SIZES" | cut -d' ' -f1)
reboot() { # reboot DIR [CORRUPT]: forge the records; CORRUPT flips a byte of the big blob's prefix
  "$T_PY" - "$1" "$bighex" "${2:-}" <<'PY'
import glob, json, os, sys, zlib
dest, bighex, corrupt = sys.argv[1], sys.argv[2], sys.argv[3]
hashed = 0
for p in glob.glob(os.path.join(dest, "ingest", "*.progress")):
    o = json.loads(open(p, "rb").read().rstrip(b" \n"))
    o["check"] = "00000000"
    o["boot_id"] = "a-boot-before-the-reboot"
    text = json.dumps(o, separators=(",", ":"))
    assert text.startswith('{"check":"00000000"')
    text = text.replace("00000000", "%08x" % zlib.crc32(text.encode()), 1)
    n = (len(text) + 1 + 4095) // 4096 * 4096
    open(p, "w").write(text + " " * (n - len(text) - 1) + "\n")
    if os.path.basename(p).startswith(bighex):
        hashed = o.get("hashed", 0)
        if corrupt and hashed:
            with open(os.path.join(dest, "ingest", bighex + ".partial"), "r+b") as f:
                f.seek(hashed // 2)
                b = f.read(1)
                f.seek(hashed // 2)
                f.write(bytes([b[0] ^ 0xFF]))
print(hashed)
PY
}
killed_pull() { # killed_pull DIR SECONDS
  "$IMGPULL" pull -v --plain-http "$REG_MAIN_ADDR" --progress none --dest "$1" --connections 4 --chunk-size 4M "$ref" \
    2>>"$T_WORK/reboot-kills.err" &
  local pid=$!
  sleep "$2"
  kill -KILL "$pid" 2>/dev/null || t_fail "the pull ended before $2 s"
  wait "$pid" 2>/dev/null || true
}

killed_pull "$T_WORK/rb1" 5
hashed=$(reboot "$T_WORK/rb1")
((hashed > 0)) || t_fail "the big blob's record names no hashed prefix"
before=$(sent)
t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_MAIN_ADDR" --progress none --dest "$T_WORK/rb1" --connections 16 --chunk-size 4M "$ref"
t_assert_file_contains "$T_ERR" "blob $big: its progress record is from before the last reboot: keeping the first $hashed bytes" "the reboot is noticed"
t_assert_file_lacks "$T_ERR" "no longer hash as recorded" "the kept prefix verified"
rerun=$(($(sent) - before))
((rerun <= total - hashed + 4 * 1048576)) || t_fail "after the reboot the store sent $rerun bytes; $hashed of $total were kept"
ip_check_layout "$T_WORK/rb1"
t_ok "after a reboot: $hashed bytes of the big blob kept (re-hashed), $rerun bytes fetched for the $total-byte image"

killed_pull "$T_WORK/rb2" 5
hashed=$(reboot "$T_WORK/rb2" corrupt)
((hashed > 0)) || t_fail "the big blob's record names no hashed prefix"
before=$(sent)
t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_MAIN_ADDR" --progress none --dest "$T_WORK/rb2" --connections 16 --chunk-size 4M "$ref"
t_assert_file_contains "$T_ERR" "blob $big: the first $hashed bytes kept from an earlier run no longer hash as recorded; fetching it again" "the changed prefix is caught"
rerun=$(($(sent) - before))
((rerun >= bigsize)) || t_fail "the big blob was not fetched anew ($rerun bytes sent)"
ip_check_layout "$T_WORK/rb2"
ip_skopeo_check "$T_WORK/rb2" "$ref" "$img"
t_ok "after a reboot with a changed byte in the kept prefix: the blob was fetched anew ($rerun bytes) and verifies"
# SIGTERM, and a network outage that outlasts the retries: each run ends
# leaving what it wrote, and the rerun keeps it and fetches only the rest.
# resumed_ok WHAT: the last command's stderr shows bytes kept, and the store
# sent no more than the image minus them since $1 (a byte count of sent()).
resumed_ok() {
  local what=$1 from=$2 kept rerun
  kept=$(grep -o 'resuming with [0-9]* bytes kept' "$T_ERR" | awk '{s += $3} END {print s + 0}')
  rerun=$(($(sent) - from))
  ((kept > 0)) || t_fail "$what: the rerun kept nothing"
  ((rerun <= total - kept)) || t_fail "$what: the rerun fetched $rerun bytes with $kept of $total kept"
  t_ok "$what: the rerun kept $kept bytes and fetched $rerun"
}
"$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --dest "$T_WORK/term" --connections 4 --chunk-size 4M \
  "$ref" 2>"$T_WORK/term.err" &
pid=$!
sleep 3
kill -TERM "$pid"
t_wait_exit "$pid" 143 "$T_WORK/term.err" "SIGTERM ended the pull"
from=$(sent)
t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_MAIN_ADDR" --progress none --dest "$T_WORK/term" --connections 16 --chunk-size 4M "$ref"
resumed_ok "after SIGTERM (exit 143)" "$from"

port=$BLOB_S3_PORT
"$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --dest "$T_WORK/outage" --connections 4 --chunk-size 4M \
  --retries 2 "$ref" 2>"$T_WORK/outage.err" &
pid=$!
sleep 3
t_stop "$BLOB_S3_PID" # the store goes away: connections reset, then refused
t_wait_exit "$pid" 5 "$T_WORK/outage.err" "the outage ran the retries out"
t_nginx_blobstore_start S3 "$storage" --rate 1m --port "$port" # its log starts anew
t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_MAIN_ADDR" --progress none --dest "$T_WORK/outage" --connections 16 --chunk-size 4M "$ref"
resumed_ok "after an outage that ran out the retries (exit 5: $(tail -1 "$T_WORK/outage.err" | cut -c1-120))" 0
ip_check_layout "$T_WORK/outage"
t_pass
