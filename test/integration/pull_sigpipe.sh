#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `imgpull pull --progress json | head -c 100`: the reader of the JSON events
# leaves early. The pull is not ended by SIGPIPE (it used to be, with no exit
# status of its own and no termination message): the events stop with one
# warning on stderr and the pull goes on to its end, exit 0, the termination
# message written, the layout complete.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

t_make_image "$T_WORK/src" v1 --layer 3M --layer 64K
img=$T_IMG_MANIFEST
# Slow enough (about 2 s) for events to come after the reader has gone.
ip_hostile_start SLOW "$T_WORK/src" --blob rate:1500000
ref="$HOSTILE_SLOW_ADDR/team/app:v1"

set +o pipefail
timeout -k 5 60 "$IMGPULL" pull --plain-http "$HOSTILE_SLOW_ADDR" --progress json --log-format text \
  --connections 1 --dest "$T_WORK/layout" --termination-log "$T_WORK/tl" "$ref" 2>"$T_WORK/err" |
  head -c 100 >/dev/null
st=("${PIPESTATUS[@]}")
set -o pipefail
[[ ${st[0]} -eq 0 ]] || t_fail "imgpull exited ${st[0]} with its reader gone (141: SIGPIPE); stderr: $(cat "$T_WORK/err")"
t_assert_eq "${st[1]}" 0 "head's status"
t_assert_file_contains "$T_WORK/err" "progress: cannot write to stdout \(Broken pipe\)" "the warning"
t_assert_eq "$(grep -c 'cannot write to stdout' "$T_WORK/err")" 1 "the warning comes once"
t_assert_file_contains "$T_WORK/tl" "^pulled 1 image" "the termination message is written"
ip_check_layout "$T_WORK/layout"
t_assert_eq "$(jq -r '.manifests[0].digest' "$T_WORK/layout/index.json")" "$img" "the image is recorded"
t_pass
