#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Token authentication against the real docker-registry configured with
# `auth: token`: anonymous Bearer tokens, Basic -> Bearer with a credential,
# ACR's access_token-only answers, token reuse per scope, and a token that dies
# in the middle of a long pull (one re-authentication, then on).
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
source "$IMGPULL_SRC/test/lib/token.sh"
t_workdir

t_make_image "$T_WORK/src" v1 --layer 1M --layer 6M
img=$T_IMG_MANIFEST

# Anonymous pulls of a public registry.
t_token_registry_start PUB --anonymous
t_push "$T_WORK/src" v1 "$REG_PUB_ADDR" public/app:v1
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/o1" --plain-http "$REG_PUB_ADDR" --progress none "$REG_PUB_ADDR/public/app:v1"
ip_check_layout "$T_WORK/o1"
ip_skopeo_check "$T_WORK/o1" "$REG_PUB_ADDR/public/app:v1" "$img"
grep -q 'auth=none .*token=[0-9]' "$TOKEN_PUB_LOG" || t_fail "an anonymous token was issued"
t_ok "anonymous Bearer token"

# A private registry: Basic to the token endpoint, Bearer to the registry.
t_token_registry_start PRIV --user dana:d4na-secret --shape acr
t_push "$T_WORK/src" v1 "$REG_PRIV_ADDR" private/app:v1
t_expect_exit 3 "$IMGPULL" pull --dest "$T_WORK/o2" --plain-http "$REG_PRIV_ADDR" --progress none "$REG_PRIV_ADDR/private/app:v1"
t_assert_file_contains "$T_ERR" "no registry credential found for hostname $REG_PRIV_ADDR" "missing credential named"
t_expect_exit 3 "$IMGPULL" pull --dest "$T_WORK/o2" --plain-http "$REG_PRIV_ADDR" --progress none --creds dana:nope "$REG_PRIV_ADDR/private/app:v1"
t_assert_file_contains "$T_ERR" 'rejected the credential from --creds' "wrong password named"
before=$(grep -c ' token=[0-9]' "$TOKEN_PRIV_LOG")
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/o2" --plain-http "$REG_PRIV_ADDR" --progress none --creds dana:d4na-secret "$REG_PRIV_ADDR/private/app:v1"
after=$(grep -c ' token=[0-9]' "$TOKEN_PRIV_LOG")
# Debug logging on: neither the password nor any token (JWTs start "eyJ") shows.
"$IMGPULL" pull --dest "$T_WORK/o2v" --plain-http "$REG_PRIV_ADDR" --progress json -v -v \
  --creds dana:d4na-secret "$REG_PRIV_ADDR/private/app:v1" >"$T_WORK/verbose.log" 2>&1 || t_fail "verbose pull failed"
grep -q 'debug' "$T_WORK/verbose.log" || t_fail "debug logging produced nothing"
t_assert_file_lacks "$T_WORK/verbose.log" 'd4na-secret|eyJ|ZGFuYTpkNG5hLXNlY3JldA' "no secret or token in the verbose output"
t_assert_eq "$((after - before))" 1 "one token for the whole pull (reused per scope)"
ip_check_layout "$T_WORK/o2"
ip_skopeo_check "$T_WORK/o2" "$REG_PRIV_ADDR/private/app:v1" "$img"

# A token that stops working after 2 s, while it claims 300 s, on a slow
# registry: the pull meets 401s midway, fetches a new token once, and finishes.
t_token_registry_start SHORT --user erin:erin-pw --expires-in 300 --token-lifetime 2
t_make_image "$T_WORK/src2" v2 --layer 24M
img2=$T_IMG_MANIFEST
t_push "$T_WORK/src2" v2 "$REG_SHORT_ADDR" long/app:v2
ip_nginx_proxy_start SLOW "$REG_SHORT_ADDR" 1m
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/o3" --plain-http "$PROXY_SLOW_ADDR" --progress none \
  --creds erin:erin-pw --connect-to "$REG_SHORT_ADDR:$PROXY_SLOW_ADDR" --plain-http "$REG_SHORT_ADDR" \
  --chunk-size 1M --connections 8 -v "$REG_SHORT_ADDR/long/app:v2"
n401=$(grep -c ' 401 ' "$PROXY_SLOW_LOG" || true)
[[ $n401 -ge 1 ]] || t_fail "the slow pull should have met an expired token"
ntok=$(grep -c ' token=[0-9]' "$TOKEN_SHORT_LOG")
[[ $ntok -ge 3 ]] || t_fail "expected fresh tokens after the expiry (push + 2 or more), saw $ntok"
ip_check_layout "$T_WORK/o3"
t_ok "$n401 requests met an expired token; the pull re-authenticated and finished"

# A token service that takes 3 s to answer once the first token has died,
# while a second image from another registry is pulled in the same run: the
# new token is fetched off the transfer loop, so the other image's ranges keep
# flowing while it comes (a fetch inside the loop, as before, froze every
# transfer for those 3 s).
t_token_registry_start SLOWTOK --user fay:fay-pw --expires-in 300 --token-lifetime 2 \
  --slow-user fay --slow-after 1 --slow 3
t_push "$T_WORK/src2" v2 "$REG_SLOWTOK_ADDR" long/app:v2
ip_nginx_proxy_start SLOWT "$REG_SLOWTOK_ADDR" 1m
t_registry_start OPEN
t_make_image "$T_WORK/src3" v3 --layer 40M
img3=$T_IMG_MANIFEST
t_push "$T_WORK/src3" v3 "$REG_OPEN_ADDR" other/app:v3
ip_nginx_proxy_start OPENP "$REG_OPEN_ADDR" 1m
"$IMGPULL" pull --dest "$T_WORK/o4" --progress json --creds fay:fay-pw \
  --connect-to "$REG_SLOWTOK_ADDR:$PROXY_SLOWT_ADDR" --plain-http "$REG_SLOWTOK_ADDR" \
  --connect-to "$REG_OPEN_ADDR:$PROXY_OPENP_ADDR" --plain-http "$REG_OPEN_ADDR" \
  --chunk-size 1M --connections 8 "$REG_SLOWTOK_ADDR/long/app:v2" "$REG_OPEN_ADDR/other/app:v3" \
  >"$T_WORK/o4.json" 2>"$T_WORK/o4.err" || t_fail "the pull with a slow token service failed: $(tail -n 5 "$T_WORK/o4.err")"
ip_check_layout "$T_WORK/o4"
ip_skopeo_check "$T_WORK/o4" "$REG_SLOWTOK_ADDR/long/app:v2" "$img2"
ip_skopeo_check "$T_WORK/o4" "$REG_OPEN_ADDR/other/app:v3" "$img3"
"$T_PY" - "$TOKEN_SLOWTOK_LOG" "$T_WORK/o4.json" <<'PY' || t_fail "the transfers stood still while the token was fetched"
import json, re, sys
slow = []
for line in open(sys.argv[1]):
    m = re.search(r"token=\d+ .* t=([\d.]+)-([\d.]+)$", line)
    if m and float(m.group(2)) - float(m.group(1)) >= 2.5:
        slow.append((float(m.group(1)), float(m.group(2))))
assert slow, "no token request was slowed down (the pull never renewed its token?)"
t0, t1 = slow[0]
prog = [json.loads(l) for l in open(sys.argv[2]) if '"progress"' in l]
inside = [p for p in prog if t0 + 0.2 < p["time"] < t1 - 0.2]
assert len(inside) >= 2, "%d progress events during the %.1f s token fetch" % (len(inside), t1 - t0)
moved = inside[-1]["done_bytes"] - inside[0]["done_bytes"]
assert moved >= 1 << 20, "%d bytes arrived during the token fetch" % moved
print("token fetch %.1f s: %d progress events, %d bytes arrived meanwhile" % (t1 - t0, len(inside), moved))
PY
t_ok "a 3 s token renewal for one registry did not stop the other's ranges"
t_pass
