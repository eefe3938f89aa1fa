#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every failure class ends with one clear line on stderr and its exit status:
# usage (2), auth (3), not found (4), network after retries (5), integrity (6).
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

# one_line_error: stderr has exactly one line, an "imgpull: error:" line.
one_line_error() {
  local n
  n=$(grep -c . "$T_ERR" || true)
  [[ $n -eq 1 ]] || { cat "$T_ERR" >&2; t_fail "expected one line on stderr, got $n"; }
  t_assert_file_contains "$T_ERR" '^imgpull: error: ' "error line prefix"
  t_assert_file_contains "$T_ERR" "$1" "error names the problem"
}

ip_redirect_setup S3 MAIN --rate 2m --htpasswd bob:right-password --push acme/app:v1 --layer 1M --layer 40M
small=$(echo "$T_IMG_LAYERS" | cut -d' ' -f1)
common=(pull --plain-http "$REG_MAIN_ADDR" --progress none)

# usage
t_expect_exit 2 "$IMGPULL" "${common[@]}" --dest "$T_WORK/o0" "$REG_MAIN_ADDR/Acme/App:v1"
one_line_error 'lowercase'
t_expect_exit 2 "$IMGPULL" "${common[@]}" --dest "$T_WORK/o0" "busybox:bad!tag"
one_line_error 'invalid tag'
t_expect_exit 2 "$IMGPULL" "${common[@]}" "$ref"
one_line_error -- '--dest'
t_expect_exit 2 "$IMGPULL" "${common[@]}" --dest "$T_WORK/o0" --connections 0 "$ref"
one_line_error -- '--connections'
t_expect_exit 2 "$IMGPULL" pull --bogus
t_expect_exit 2 "$IMGPULL" frobnicate

# auth: wrong password, no credential at all, a malformed authfile
t_expect_exit 3 "$IMGPULL" "${common[@]}" --dest "$T_WORK/o1" --creds bob:wrong "$ref"
one_line_error "rejected the credential from --creds"
t_assert_file_lacks "$T_ERR" 'wrong' "the password is not printed"
t_expect_exit 3 "$IMGPULL" "${common[@]}" --dest "$T_WORK/o1" "$ref"
one_line_error "no registry credential found for hostname $REG_MAIN_ADDR"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG_MAIN_ADDR" "$(printf 'bob:right-password' | base64)" >"$T_WORK/auth.json"
t_expect_exit 0 "$IMGPULL" "${common[@]}" --dest "$T_WORK/o1" --authfile "$T_WORK/auth.json" "$ref"
t_ok "credentials from a docker config.json"
printf '{"auths":{"%s":{"auth":"!!notbase64"}}}\n' "$REG_MAIN_ADDR" >"$T_WORK/bad.json"
t_expect_exit 3 "$IMGPULL" "${common[@]}" --dest "$T_WORK/o1" --authfile "$T_WORK/bad.json" "$ref"
one_line_error "not valid base64"

# not found: an unknown tag, an unknown repository, an unknown digest
t_expect_exit 4 "$IMGPULL" "${common[@]}" --dest "$T_WORK/o2" --creds bob:right-password "$REG_MAIN_ADDR/acme/app:nope"
one_line_error 'not found'
t_expect_exit 4 "$IMGPULL" "${common[@]}" --dest "$T_WORK/o2" --creds bob:right-password "$REG_MAIN_ADDR/acme/ghost:v1"
one_line_error 'not found'
t_expect_exit 4 "$IMGPULL" "${common[@]}" --dest "$T_WORK/o2" --creds bob:right-password \
  "$REG_MAIN_ADDR/acme/app@sha256:$(printf x | sha256sum | cut -d' ' -f1)"
one_line_error 'not found'

# network: the blob store dies mid-pull and stays dead; retries run out.
"$IMGPULL" "${common[@]}" --dest "$T_WORK/o3" --creds bob:right-password --retries 2 \
  --chunk-size 4M --connections 4 "$ref" >"$T_WORK/gone.out" 2>"$T_WORK/gone.err" &
pid=$!
sleep 1.5
t_stop "$BLOB_S3_PID"
rc=0
wait $pid || rc=$?
T_ERR="$T_WORK/gone.err"
t_assert_eq "$rc" 5 "exit status when the blob store is gone"
one_line_error 'from 127.0.0.1:[0-9]+: .*gave up after (2 retries|[0-9]+ failed tries)'
ls "$T_WORK/o3/ingest/"*.partial >/dev/null 2>&1 || t_fail "partial blobs are kept in ingest/ for a later resume"
# A record is written when a blob is taken on: some blob under way has bytes in its record.
prog=$(ls -S "$T_WORK/o3/ingest/"*.progress | head -1)
jq -s -e 'any(.[]; (.size > 0) and (.chunk_size == 4194304) and (.written | length > 1) and ([.written[]] | add > 0))' \
  "$T_WORK/o3/ingest/"*.progress >/dev/null ||
  t_fail "the progress file records the chunk size and each chunk's written bytes: $(cat "$prog")"
t_ok "partial files and their progress kept under ingest/"

# network: nothing listens at all
port=$(t_free_port)
t_expect_exit 5 "$IMGPULL" pull --plain-http "127.0.0.1:$port" --progress none --retries 1 \
  --dest "$T_WORK/o4" "127.0.0.1:$port/x/y:1"
one_line_error 'cannot reach registry'

# integrity: a blob corrupted on the server (same size, one byte changed)
ip_redirect_setup S3B R2 --htpasswd bob:right-password
f=$(t_blob_path "$storage" "$small")
cp "$f" "$T_WORK/small.orig"
printf '\xff' | dd of="$f" bs=1 seek=1000 conv=notrunc status=none
t_expect_exit 6 "$IMGPULL" pull --plain-http "$REG_R2_ADDR" --progress none --creds bob:right-password \
  --dest "$T_WORK/o5" "$REG_R2_ADDR/acme/app:v1"
one_line_error "$small from .* has digest sha256:"
[[ ! -e "$T_WORK/o5/blobs/sha256/${small#sha256:}" ]] || t_fail "a corrupt blob entered the layout"
t_assert_eq "$(jq '.manifests | length' "$T_WORK/o5/index.json")" 0 "no index entry for a failed pull"

# storage: a destination that cannot be a directory, and a full disk.
t_expect_exit 7 "$IMGPULL" pull --plain-http "$REG_R2_ADDR" --progress none --creds bob:right-password \
  --dest /etc/hostname/layout "$REG_R2_ADDR/acme/app:v1"
one_line_error "cannot create directory"
cp "$T_WORK/small.orig" "$f" # mended for what follows
# The disk budget: a pull that would not fit (with --min-free to spare) fails
# before any blob byte moves.
small_fs="$T_WORK/smallfs"
mkdir -p "$small_fs"
mount -t tmpfs -o size=64M tmpfs "$small_fs" || t_fail "cannot mount a 64 MiB tmpfs for the disk budget"
trap 'umount "$small_fs" 2>/dev/null; _t_cleanup' EXIT
budget() { # EXIT MIN_FREE
  local before rc=0
  before=$(wc -l <"$BLOB_S3B_LOG")
  "$IMGPULL" pull --plain-http "$REG_R2_ADDR" --progress none --creds bob:right-password --min-free "$2" \
    --dest "$small_fs/layout" "$REG_R2_ADDR/acme/app:v1" >"$T_WORK/full.out" 2>"$T_WORK/full.err" || rc=$?
  T_ERR="$T_WORK/full.err"
  t_assert_eq "$rc" "$1" "exit status with --min-free $2 on a 64 MiB filesystem for a 42 MB image"
  if [[ $1 == 7 ]]; then
    one_line_error "not enough room in '$small_fs/layout': [0-9]+ bytes needed, [0-9]+ free, [0-9]+ to be kept free .*nothing was downloaded"
    t_assert_eq "$(tail -n +"$((before + 1))" "$BLOB_S3B_LOG" | grep -c '/data ' || true)" 0 "no blob requested"
  fi
}
budget 7 30M
budget 7 40%
dd if=/dev/zero of="$small_fs/filler" bs=1M count=20 status=none
budget 7 10%
rm "$small_fs/filler"
budget 0 10%
t_ok "the disk budget refuses what would not fit, and lets through what does"
umount "$small_fs"
trap _t_cleanup EXIT
t_pass
