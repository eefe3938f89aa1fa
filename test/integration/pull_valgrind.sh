#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A pull under valgrind (memcheck): an authenticated registry redirecting to a
# capped store (ranges on several connections, the hasher thread, redirects,
# token-free basic auth), then the same pull again with a blob already there and
# one interrupted half-way (SIGTERM): no memory error, no leak (definite or
# indirect) reported in any of them.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
command -v valgrind >/dev/null || t_fail "valgrind is missing (scripts/deps.sh installs it)"

ip_redirect_setup S3 MAIN --reject-auth --rate 8m --htpasswd alice:s3cr3t-pw \
  --push ml/model:v1 --layer 6M --layer 1M --layer 20K
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
  --show-leak-kinds=definite,indirect --track-fds=no)
# The check can fail: a program that loses a block is caught.
printf '#include <stdlib.h>\nint main(void) { void *p = malloc(64); p = 0; return p != 0; }\n' >"$T_WORK/leak.c"
cc -O0 -o "$T_WORK/leak" "$T_WORK/leak.c"
t_expect_exit 99 "${vg[@]}" "$T_WORK/leak"
pull=("$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --creds alice:s3cr3t-pw --progress none --chunk-size 1M
  --connections 4 --dest "$T_WORK/layout" "$ref")

t_expect_exit 0 "${vg[@]}" "${pull[@]}"
ip_skopeo_check "$T_WORK/layout" "$ref" "$img"
t_ok "a pull under valgrind: no error, no leak"
t_expect_exit 0 "${vg[@]}" "${pull[@]}"
t_ok "the same pull again (every blob present) under valgrind: clean"

rm -rf "$T_WORK/layout"
"${vg[@]}" "${pull[@]}" >"$T_WORK/term.out" 2>"$T_WORK/term.err" &
pid=$!
t_wait_until 10 t_exists "$T_WORK/layout/ingest/*.progress" || t_fail "no progress record appeared"
kill -TERM "$pid"
t_wait_exit "$pid" 143 "$T_WORK/term.err" "SIGTERM under valgrind"
t_ok "a pull interrupted by SIGTERM under valgrind: exit 143, no error, no leak"
t_expect_exit 0 "${vg[@]}" "$IMGPULL" verify --dest "$T_WORK/layout"
t_expect_exit 0 "${vg[@]}" "$IMGPULL" gc --dest "$T_WORK/layout" --partial-age 0
t_ok "verify and gc under valgrind: clean"
t_pass
