#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Self-test of test/lib/token.sh and tokenserver.py with skopeo and curl only (not
# imgpull): the real docker-registry (distribution 2.8) with `auth: token` accepts our
# tokens (x5c and kid headers), refuses missing or wrong credentials, anonymous pull
# works where allowed, the docker and acr response shapes, and a token whose
# --token-lifetime has passed is refused mid-use although expires_in promised more.
set -euo pipefail
source "${IMGPULL_SRC:?set IMGPULL_SRC to the source tree}/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/token.sh"

t_workdir
T0=$SECONDS

# ---------------------------------------------------------------- credentials required
printf '%s\n' '# team members' 'bob:bpw pull team/*' >"$T_WORK/users"
t_token_registry_start TOK --user alice:pw --users "$T_WORK/users"
t_make_image "$T_WORK/oci" v1 --layer 64K --layer 8K
IMG=$T_IMG_MANIFEST
t_push "$T_WORK/oci" v1 "$REG_TOK_ADDR" test/img:v1 --creds "$TOKEN_PUSH_CREDS"
# (skopeo percent-encodes the scope and adds account=USER)
t_assert_file_contains "$TOKEN_TOK_LOG" 'GET /token\?.*scope=repository%3Atest%2Fimg%3Apull%2Cpush.* auth=Basic status=200 token=[0-9]+ granted=repository:test/img:pull,push t=[0-9.]+-[0-9.]+$' \
  "the pusher got pull,push"

skopeo inspect --creds alice:pw --tls-verify=false "docker://$REG_TOK_ADDR/test/img:v1" \
  >"$T_WORK/inspect.json" 2>"$T_WORK/inspect.err" ||
  t_fail "skopeo inspect as alice failed: $(tail -n 5 "$T_WORK/inspect.err")"
t_assert_eq "$(jq -r .Digest "$T_WORK/inspect.json")" "$IMG" "digest seen by alice"
if skopeo inspect --tls-verify=false "docker://$REG_TOK_ADDR/test/img:v1" >/dev/null 2>"$T_WORK/anon.err"; then
  t_fail "skopeo inspect without credentials should fail"
fi
if skopeo inspect --creds alice:wrong --tls-verify=false "docker://$REG_TOK_ADDR/test/img:v1" >/dev/null 2>"$T_WORK/bad.err"; then
  t_fail "skopeo inspect with a wrong password should fail"
fi
t_ok "skopeo: alice may inspect; no or wrong credentials may not"

# ---------------------------------------------------------------- the wire, with curl
U=$REG_TOK_URL
curl -sS -o /dev/null -D "$T_WORK/h" "$U/v2/"
t_assert_match "$(head -n1 "$T_WORK/h")" '^HTTP/1.1 401' "GET /v2/ without a token"
chal=$(grep -i '^www-authenticate:' "$T_WORK/h" | tr -d '\r')
t_assert_eq "$chal" "Www-Authenticate: Bearer realm=\"$TOKEN_TOK_REALM\",service=\"$TOKEN_SERVICE\"" "challenge of /v2/"
MURL="$U/v2/test/img/manifests/v1"
ACCEPT=(-H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json')
curl -sS -o /dev/null -D "$T_WORK/h" "${ACCEPT[@]}" "$MURL"
t_assert_file_contains "$T_WORK/h" '^Www-Authenticate: Bearer realm="[^"]+",service="imgpull-registry",scope="repository:test/img:pull"' \
  "manifest challenge names the scope"

# Token with two scope parameters; alice gets pull only, even where she asks for push.
t_token_get TOK 'repository:test/img:pull,push&scope=repository:other/x:pull' -u alice:pw >"$T_WORK/tok.json"
t_assert_eq "$(jq -r 'keys | join(",")' "$T_WORK/tok.json")" "expires_in,issued_at,token" "docker shape keys"
t_assert_eq "$(jq -r .expires_in "$T_WORK/tok.json")" 300 "expires_in"
TOKEN=$(jq -r .token "$T_WORK/tok.json")
claims=$(t_jwt_claims "$TOKEN")
t_assert_eq "$(jq -c .access <<<"$claims")" \
  '[{"type":"repository","name":"test/img","actions":["pull"]},{"type":"repository","name":"other/x","actions":["pull"]}]' \
  "granted access"
t_assert_eq "$(jq -r '[.iss, .aud, .sub] | join(" ")' <<<"$claims")" "$TOKEN_ISSUER $TOKEN_SERVICE alice" "iss aud sub"
t_assert_eq "$(cut -d. -f1 <<<"$TOKEN" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r '[.alg, .typ, (.x5c | length)] | join(" ")')" \
  "RS256 JWT 1" "JWT header"
code=$(curl -sS -o "$T_WORK/m.json" -D "$T_WORK/h" -w '%{http_code}' "${ACCEPT[@]}" -H "Authorization: Bearer $TOKEN" "$MURL")
t_assert_eq "$code" 200 "manifest GET with the Bearer token"
t_assert_eq "$(t_sha256 "$T_WORK/m.json")" "$IMG" "manifest digest"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$U/v2/")
t_assert_eq "$code" 200 "GET /v2/ with the token"
# A token for another repository is not enough: insufficient_scope.
t_token_get TOK 'repository:other/x:pull' -u alice:pw >"$T_WORK/tok2.json"
curl -sS -o /dev/null -D "$T_WORK/h" -H "Authorization: Bearer $(jq -r .token "$T_WORK/tok2.json")" "$MURL"
t_assert_match "$(head -n1 "$T_WORK/h")" '^HTTP/1.1 401' "manifest GET with another repository's token"
t_assert_file_contains "$T_WORK/h" 'error="insufficient_scope"' "insufficient_scope"
# bob (users file) may pull team/* only.
t_token_get TOK 'repository:test/img:pull' -u bob:bpw >"$T_WORK/tok3.json"
t_assert_eq "$(t_jwt_claims "$(jq -r .token "$T_WORK/tok3.json")" | jq -c '.access[0].actions')" '[]' "bob on test/img"
t_token_get TOK 'repository:team/app:pull' -u bob:bpw >"$T_WORK/tok3.json"
t_assert_eq "$(t_jwt_claims "$(jq -r .token "$T_WORK/tok3.json")" | jq -c '.access[0].actions')" '["pull"]' "bob on team/app"
# Token server refusals: 401 + JSON without or with wrong credentials, 400 for another service.
code=$(curl -sS -o "$T_WORK/e.json" -w '%{http_code}' "$TOKEN_TOK_REALM?service=$TOKEN_SERVICE&scope=repository:test/img:pull")
t_assert_eq "$code" 401 "token without credentials"
t_assert_eq "$(jq -r '.errors[0].code' "$T_WORK/e.json")" UNAUTHORIZED "token error JSON"
code=$(curl -sS -o "$T_WORK/e.json" -w '%{http_code}' -u alice:nope "$TOKEN_TOK_REALM?service=$TOKEN_SERVICE")
t_assert_eq "$code" 401 "token with a wrong password"
jq -e .errors "$T_WORK/e.json" >/dev/null || t_fail "401 body is not a JSON error"
code=$(curl -sS -o /dev/null -w '%{http_code}' -u alice:pw "$TOKEN_TOK_REALM?service=elsewhere")
t_assert_eq "$code" 400 "token for another service"
# The log has schemes, never secrets.
t_assert_file_contains "$TOKEN_TOK_LOG" '^[0-9T:-]+ GET /token\?service=imgpull-registry&scope=repository:test/img:pull auth=none status=401 token=- t=[0-9.]+-[0-9.]+$' \
  "log line of a refused anonymous request"
t_assert_file_lacks "$TOKEN_TOK_LOG" "$(printf alice:pw | base64)|$(printf pusher:pushpw | base64)|eyJ|pushpw" \
  "secret in the token log"
t_ok "curl: challenge, token, Bearer manifest GET, scopes, refusals, log"

# ---------------------------------------------------------------- anonymous, acr shape, kid, TLS
# Same storage, so no second push; kid header instead of x5c; HTTPS on both servers.
t_token_registry_start ANON --anonymous --shape acr --key-id-mode kid --root "$REG_TOK_ROOT" --tls --token-tls
skopeo inspect --cert-dir "$REG_ANON_CERTDIR" "docker://$REG_ANON_ADDR/test/img:v1" >"$T_WORK/inspect2.json" \
  2>"$T_WORK/inspect2.err" || t_fail "anonymous skopeo inspect failed: $(tail -n 5 "$T_WORK/inspect2.err")"
t_assert_eq "$(jq -r .Digest "$T_WORK/inspect2.json")" "$IMG" "digest seen anonymously over TLS"
t_assert_file_contains "$TOKEN_ANON_LOG" 'scope=repository%3Atest%2Fimg%3Apull.* auth=none status=200 token=[0-9]+' \
  "anonymous token issued"
t_token_get ANON 'repository:test/img:pull' >"$T_WORK/tok4.json"
t_assert_eq "$(jq -r 'keys | join(",")' "$T_WORK/tok4.json")" "access_token" "acr shape keys"
t_assert_eq "$(jq -r '.access_token | split(".")[0] | @base64d | fromjson | has("kid") and (has("x5c") | not)' "$T_WORK/tok4.json" 2>/dev/null || echo err)" \
  true "kid header without x5c"
# Anonymous means pull only.
t_token_get ANON 'repository:test/img:pull,push' >"$T_WORK/tok5.json"
t_assert_eq "$(t_jwt_claims "$(jq -r .access_token "$T_WORK/tok5.json")" | jq -c '.access[0].actions')" '["pull"]' \
  "anonymous asking for push"
t_ok "anonymous pull (acr shape, kid header, HTTPS registry and realm)"

# ---------------------------------------------------------------- a token that dies early
t_token_registry_start SHORT --user alice:pw --shape both --token-lifetime 2 --expires-in 300 --root "$REG_TOK_ROOT"
t_token_get SHORT 'repository:test/img:pull' -u alice:pw >"$T_WORK/tok6.json"
t_assert_eq "$(jq -r 'keys | join(",")' "$T_WORK/tok6.json")" "access_token,expires_in,issued_at,token" "both shape keys"
t_assert_eq "$(jq -r '.token == .access_token' "$T_WORK/tok6.json")" true "token equals access_token"
t_assert_eq "$(jq -r .expires_in "$T_WORK/tok6.json")" 300 "expires_in promises 300 s"
TOKEN=$(jq -r .token "$T_WORK/tok6.json")
MURL="$REG_SHORT_URL/v2/test/img/manifests/v1"
code=$(curl -sS -o /dev/null -w '%{http_code}' "${ACCEPT[@]}" -H "Authorization: Bearer $TOKEN" "$MURL")
t_assert_eq "$code" 200 "fresh short-lived token"
sleep 3
curl -sS -o /dev/null -D "$T_WORK/h" "${ACCEPT[@]}" -H "Authorization: Bearer $TOKEN" "$MURL"
t_assert_match "$(head -n1 "$T_WORK/h")" '^HTTP/1.1 401' "the same token 3 s later"
t_assert_file_contains "$T_WORK/h" 'error="invalid_token"' "expired token challenge"
t_assert_file_contains "$REG_SHORT_LOG" 'token not to be used after' "registry says why"
t_ok "token refused by the registry after --token-lifetime although expires_in said 300"

t_assert_eq "$(grep -c ' token=[0-9]' "$TOKEN_SHORT_LOG")" 1 "tokens counted in the SHORT log"
t_pass "in $((SECONDS - T0)) s"
