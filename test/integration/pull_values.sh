#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Empty, blank and malformed option values are usage errors (exit 2) that name
# the option, and nothing is created anywhere: not the layout, not a file in the
# working directory, not a layout in / (what --dest '' used to do).
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
t_workdir

cwd="$T_WORK/cwd"
mkdir -p "$cwd"
dest="$T_WORK/layout"
ref=127.0.0.1:1/acme/app:v1
[[ ! -e /blobs && ! -e /index.json ]] || t_fail "a layout already lies in / before the test"

# bad OPTION VALUE WHAT: pull with OPTION VALUE is exit 2 naming WHAT, nothing created.
bad() {
  local opt=$1 val=$2 what=$3 rc=0
  (cd "$cwd" && "$IMGPULL" pull --dest "$dest" --progress none "$opt" "$val" "$ref" \
    >"$T_WORK/out" 2>"$T_WORK/err" </dev/null) || rc=$?
  [[ $rc -eq 2 ]] || t_fail "$opt '$val': exit $rc, expected 2: $(cat "$T_WORK/err")"
  [[ $(grep -c . "$T_WORK/err") -eq 1 ]] || t_fail "$opt '$val': expected one error line: $(cat "$T_WORK/err")"
  t_assert_file_contains "$T_WORK/err" "^imgpull: error: .*$what" "$opt '$val' names the problem"
  [[ ! -e "$dest" ]] || t_fail "$opt '$val' created $dest"
  [[ -z "$(ls -A "$cwd")" ]] || t_fail "$opt '$val' created $(ls -A "$cwd") in the working directory"
  [[ ! -e /blobs && ! -e /index.json && ! -e /oci-layout ]] || t_fail "$opt '$val' wrote a layout into /"
}

for opt in --secret --authfile --ca-file --plain-http --connect-to; do
  bad "$opt" "" "$opt must not be empty"
  bad "$opt" "  " "$opt must not be blank"
done
bad --ca-file " $T_WORK/ca.pem" "leading or trailing white space"
bad --secret "$T_WORK/s " "leading or trailing white space"
bad --plain-http "http://127.0.0.1:1" "--plain-http wants HOST"
bad --plain-http "127.0.0.1:1/v2" "--plain-http wants HOST"
bad --connect-to "a:1: b:2" "--connect-to must be"
bad --creds "" "--creds must be USER:PASSWORD"
for v in " 16M" "+16M" "-16M" "16M " "16 M" "0x10M" "16Q" "1K"; do
  bad --chunk-size "$v" "--chunk-size must be"
done
for v in " 4" "+4" "-4" "4 " "" "4x" "0"; do
  bad --connections "$v" "--connections must be"
done
for v in "+3" "-1" " 3" ""; do
  bad --retries "$v" "--retries must be"
done
for v in "" " 5m" "+5m" "-5m" "5x" "5 m" "1.5h" "m"; do
  bad --timeout "$v" "--timeout must be a duration"
done
for v in "" "0" "+20s" "20 s" "2h"; do
  bad --stall-timeout "$v" "--stall-timeout must be 1s..1h"
done
bad --platform "" "invalid platform"
bad --progress "" "--progress must be"
bad --registry-kind "" "--registry-kind must not be empty"
bad --registry-kind "x.io=nope" "--registry-kind must be"

# --dest itself, given last so it is the one that counts.
for v in "" " " "	"; do
  rc=0
  (cd "$cwd" && "$IMGPULL" pull --progress none --dest "$v" "$ref" >"$T_WORK/out" 2>"$T_WORK/err" </dev/null) || rc=$?
  t_assert_eq "$rc" 2 "--dest '$v' is a usage error"
  t_assert_file_contains "$T_WORK/err" "--dest must not be (empty|blank)" "--dest '$v' is named"
  [[ -z "$(ls -A "$cwd")" && ! -e /blobs && ! -e /index.json ]] || t_fail "--dest '$v' created files"
done
bad --dest " $dest" "leading or trailing white space"

# A secret list from the environment: a blank element is named too.
rc=0
(cd "$cwd" && IMGPULL_SECRET="  " "$IMGPULL" pull --progress none --dest "$dest" "$ref" >"$T_WORK/out" 2>"$T_WORK/err" </dev/null) || rc=$?
t_assert_eq "$rc" 2 "a blank IMGPULL_SECRET entry is a usage error"
t_assert_file_contains "$T_WORK/err" "IMGPULL_SECRET must not be blank" "IMGPULL_SECRET is named"

# A malformed reference is caught before the layout is created.
rc=0
"$IMGPULL" pull --progress none --dest "$dest" "127.0.0.1:1/Acme/app:v1" >"$T_WORK/out" 2>"$T_WORK/err" </dev/null || rc=$?
t_assert_eq "$rc" 2 "a malformed reference is a usage error"
[[ ! -e "$dest" ]] || t_fail "a malformed reference created the layout"
t_pass
