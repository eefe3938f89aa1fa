#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Nothing but a regular file is ever written or replaced by an output option
# (pull's --metrics and --termination-log, bench's --metrics and --timeline, and
# their variables). A path that is a character device (made here with mknod,
# never /dev/null itself), a FIFO without a reader, a symbolic link, a directory
# or a socket is refused when the options are read: exit 2 naming the option
# and what the path is, no request sent, no layout made, the path as it was.
# At write time the writers check again: a termination log turned into a FIFO
# and a metrics file turned into a symbolic link while the pull runs are left
# alone, and the pull ends (it used to wait forever for the FIFO's reader).
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

[[ $(id -u) == 0 ]] || t_fail "this test makes a device node with mknod: run it as root"
t_make_image "$T_WORK/src" v1 --layer 4M --layer 64K
ip_hostile_start OK "$T_WORK/src"
ref="$HOSTILE_OK_ADDR/team/app:v1"

p="$T_WORK/paths"
mkdir -p "$p"
mknod "$p/dev" c 1 3
mkfifo "$p/fifo"
echo "the link's target" >"$p/target"
ln -s target "$p/link"
mkdir "$p/dir"
"$T_PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$p/sock"
declare -A kind=([dev]="a character device" [fifo]="a FIFO" [link]="a symbolic link" [dir]="a directory"
  [sock]="a socket")

# refused NAME WHAT CMD...: CMD (with the path $p/NAME in it) is exit 2 within
# 30 s, its one error line names WHAT and the path's kind, and nothing changed.
refused() {
  local name=$1 what=$2 before after
  shift 2
  before=$(stat -c '%i %F %s' "$p/$name")
  t_expect_exit 2 timeout -k 5 30 "$@"
  t_assert_file_contains "$T_ERR" "^imgpull: error: $what '$p/$name' is ${kind[$name]}, not a regular file\$" \
    "the error names $what and what '$name' is"
  [[ $(grep -c . "$T_ERR") -eq 1 ]] || t_fail "expected one error line: $(cat "$T_ERR")"
  after=$(stat -c '%i %F %s' "$p/$name")
  t_assert_eq "$after" "$before" "$what left '$name' as it was"
  t_assert_eq "$(cat "$p/target")" "the link's target" "the link's target is untouched"
  [[ ! -e "$T_WORK/layout" ]] || t_fail "$what '$name': a layout was made"
  [[ -z "$(ls "$p" | grep -v '^\(dev\|fifo\|target\|link\|dir\|sock\)$')" ]] || t_fail "files left in $p: $(ls "$p")"
}

pull=("$IMGPULL" pull --plain-http "$HOSTILE_OK_ADDR" --progress none --dest "$T_WORK/layout")
bench=("$IMGPULL" bench --plain-http "$HOSTILE_OK_ADDR" --runs 1 --quiet)
for name in dev fifo link dir sock; do
  f="$p/$name"
  refused "$name" --metrics "${pull[@]}" --metrics "$f" "$ref"
  refused "$name" --termination-log "${pull[@]}" --termination-log "$f" "$ref"
  refused "$name" "IMGPULL_METRICS: --metrics" env IMGPULL_METRICS="$f" "${pull[@]}" "$ref"
  refused "$name" "IMGPULL_TERMINATION_LOG: --termination-log" env IMGPULL_TERMINATION_LOG="$f" "${pull[@]}" "$ref"
  refused "$name" --metrics "${bench[@]}" --metrics "$f" "$ref"
  refused "$name" --timeline "${bench[@]}" --timeline "$f" "$ref"
  t_ok "$name (${kind[$name]}) refused by every output option, left as it was"
done
t_assert_eq "$(grep -c . "$HOSTILE_OK_LOG" || true)" 0 "no request was sent by a refused command"

# Regular files (new or there already) are written as before.
echo old >"$p/old.prom"
t_expect_exit 0 timeout -k 5 30 "${pull[@]}" --termination-log "$p/tl" --metrics "$p/old.prom" "$ref"
t_assert_file_contains "$p/tl" "^pulled 1 image" "the termination message"
t_assert_file_contains "$p/old.prom" "^imgpull_pull_success 1$" "the metrics replaced the old file"
[[ -f "$p/tl" && ! -L "$p/tl" && -f "$p/old.prom" && ! -L "$p/old.prom" ]] || t_fail "outputs are regular files"
rm -rf "$T_WORK/layout"

# While a slow pull runs, the termination log becomes a FIFO (no reader) and the
# metrics file a symbolic link: the pull still ends, writing neither.
ip_hostile_start SLOW "$T_WORK/src" --blob rate:1500000
echo old >"$p/swap.prom"
echo old >"$p/swap.tl"
timeout -k 5 30 "$IMGPULL" pull --plain-http "$HOSTILE_SLOW_ADDR" --progress none --dest "$T_WORK/layout" \
  --connections 1 --chunk-size 4M --termination-log "$p/swap.tl" --metrics "$p/swap.prom" \
  "$HOSTILE_SLOW_ADDR/team/app:v1" >"$T_WORK/swap.out" 2>"$T_WORK/swap.err" &
pid=$!
t_wait_until 10 grep -q "/blobs/" "$HOSTILE_SLOW_LOG" || t_fail "no blob was requested"
rm "$p/swap.tl" "$p/swap.prom"
mkfifo "$p/swap.tl"
ln -s target "$p/swap.prom"
kill -0 "$pid" 2>/dev/null || t_fail "the pull ended before the paths were swapped (too fast for this test)"
t_wait_exit "$pid" 0 "$T_WORK/swap.err" "a pull whose outputs were swapped for a FIFO and a link"
[[ -p "$p/swap.tl" ]] || t_fail "the FIFO was replaced"
[[ -L "$p/swap.prom" ]] || t_fail "the symbolic link was replaced"
t_assert_eq "$(cat "$p/target")" "the link's target" "the link's target is untouched"
t_assert_file_contains "$T_WORK/swap.err" "termination message to '$p/swap.tl': (not a regular file|No such device or address)" "the FIFO is named"
t_assert_file_contains "$T_WORK/swap.err" "'$p/swap.prom' is a symbolic link, not a regular file: not replaced" \
  "the link is named"
[[ -z "$(ls "$p" | grep '\.tmp\.')" ]] || t_fail "a temporary file was left: $(ls "$p")"
t_ok "outputs swapped mid-pull for a FIFO and a link are left alone; the pull ends with 0"
t_pass
