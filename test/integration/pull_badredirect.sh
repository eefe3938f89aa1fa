#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A registry that redirects blob GETs to a URL that is not HTTP(S) (ftp://,
# file://): the pull fails at once with exit 5, naming the registry and the
# URL's scheme, after one request per blob: such an answer is no glitch a
# retry would cure, and nothing is ever fetched from another scheme.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

storage="$T_WORK/storage"
mkdir -p "$storage"
t_registry_start MAIN --root "$storage"
ip_push_image "$REG_MAIN_ADDR" team/app:v1 --layer 1M
layer=$T_IMG_LAYERS
for scheme in ftp://127.0.0.1:1 file://localhost; do
  name=$(echo "$scheme" | tr -cd 'a-z')
  t_registry_start "$name" --root "$storage" --redirect "$scheme"
  port_var="REG_$(echo "$name" | tr a-z A-Z)_ADDR"
  addr=${!port_var}
  log_var="REG_$(echo "$name" | tr a-z A-Z)_LOG"
  start=$SECONDS
  t_expect_exit 5 "$IMGPULL" pull --plain-http "$addr" --progress none --dest "$T_WORK/out-$name" "$addr/team/app:v1"
  t_assert_file_contains "$T_ERR" "redirected to '${scheme%%:*}:" "the message names the scheme"
  n=$(grep -c "GET /v2/team/app/blobs/$layer" "${!log_var}" || true)
  ((n <= 1)) || t_fail "the registry was asked for the layer $n times"
  ((SECONDS - start < 10)) || t_fail "took $((SECONDS - start)) s"
  [[ ! -e "$T_WORK/out-$name/blobs/sha256/${layer#sha256:}" ]] || t_fail "the layer entered the layout"
  t_ok "redirect to ${scheme%%:*}: exit 5 at once: $(tail -1 "$T_ERR")"
done
t_pass
