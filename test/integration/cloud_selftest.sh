#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Self-test of test/lib/cloud.sh and fakecloud.py with curl and a small Python client (not
# imgpull): the fake's SigV4 verifier passes the AWS test suite; ECR, ECR Public and
# Volcengine GetAuthorizationToken accept correctly signed requests (curl's own SigV4
# signer and a second, separately written one below) and refuse what the real services
# refuse (wrong secret, unknown key, stale date, wrong scope, tampered body...); the
# credentials they hand out work against real registries; and the nvcr.io, Harbor and
# public.ecr.aws fronts show their quirks while a token from the token server works
# through them.
set -euo pipefail
source "${IMGPULL_SRC:?set IMGPULL_SRC to the source tree}/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/token.sh"
source "$IMGPULL_SRC/test/lib/cloud.sh"

t_workdir
T0=$SECONDS

# ---------------------------------------------------------------- the SigV4 suite
# The suite (awslabs/aws-c-auth tests/aws-signing-test-suite): in the repo once copied
# there, else in shared/ beside the work tree (as in CI).
SUITE=""
for d in ${IMGPULL_SIGV4_SUITE:-} "$IMGPULL_SRC/test/data/aws-sigv4/v4" \
  "$IMGPULL_SRC/../shared/testdata/aws-sigv4/v4" /work/shared/testdata/aws-sigv4/v4; do
  n=$(find "$d" -mindepth 2 -maxdepth 2 -name context.json 2>/dev/null | wc -l)
  if ((n >= 30)); then
    SUITE=$d
    break
  fi
done
[[ -n "$SUITE" ]] || t_fail "AWS SigV4 test suite not found (set IMGPULL_SIGV4_SUITE)"
t_expect_exit 0 "$T_PY" "$T_LIB_DIR/fakecloud.py" --selftest "$SUITE"
t_assert_file_contains "$T_OUT" '^[0-9]+ aws-sigv4 cases \+ 1 volcengine example: [0-9]+ passed, 0 failed$' "selftest summary"
ncases=$(sed -n 's/^\([0-9]*\) aws-sigv4 cases.*/\1/p' "$T_OUT")
((ncases >= 30)) || t_fail "only $ncases SigV4 cases checked"
t_ok "fakecloud --selftest: $ncases SigV4 cases (verifier and signer) and Volcengine's documented example"

# ---------------------------------------------------------------- a second signer
# Written apart from fakecloud.py, from the AWS and Volcengine docs; used where curl's
# --aws-sigv4 cannot go (Volcengine's scheme; a chosen date: curl 7.88 sends a given
# X-Amz-Date twice).
cat >"$T_WORK/client.py" <<'PY'
import argparse, datetime, hashlib, hmac, http.client, ssl, sys, urllib.parse

p = argparse.ArgumentParser()
p.add_argument("kind", choices=("aws", "volc"))
p.add_argument("url")
p.add_argument("--key", required=True)            # AK:SK
p.add_argument("--region", required=True)
p.add_argument("--service", required=True)
p.add_argument("--target", default=None)          # X-Amz-Target
p.add_argument("--query", default="")             # a=b&c=d
p.add_argument("--body", default="{}")
p.add_argument("--send-body", default=None)       # a different body than the signed one
p.add_argument("--content-type", default=None)
p.add_argument("--date-offset", type=int, default=0)
p.add_argument("--unsigned", default="")          # comma separated header names not to sign
p.add_argument("--cacert", default=None)
a = p.parse_args()

ak, sk = a.key.split(":", 1)
u = urllib.parse.urlsplit(a.url)
when = (datetime.datetime.now(datetime.timezone.utc) +
        datetime.timedelta(seconds=a.date_offset)).strftime("%Y%m%dT%H%M%SZ")
body = a.body.encode()
ctype = a.content_type or ("application/x-amz-json-1.1" if a.kind == "aws" else "application/json")
hdrs = {"host": u.netloc, "content-type": ctype}
if a.kind == "aws":
    hdrs["x-amz-date"] = when
    if a.target:
        hdrs["x-amz-target"] = a.target
else:
    hdrs["x-date"] = when
    hdrs["x-content-sha256"] = hashlib.sha256(body).hexdigest()
signed = sorted(h for h in hdrs if h not in a.unsigned.split(","))
pairs = sorted(urllib.parse.parse_qsl(a.query, keep_blank_values=True))
q = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
             for k, v in pairs)
creq = "\n".join(["POST", "/", q, "".join("%s:%s\n" % (h, hdrs[h]) for h in signed),
                  ";".join(signed), hashlib.sha256(body).hexdigest()])
if a.kind == "aws":
    alg, term, key = "AWS4-HMAC-SHA256", "aws4_request", ("AWS4" + sk).encode()
else:
    alg, term, key = "HMAC-SHA256", "request", sk.encode()
scope = "/".join([when[:8], a.region, a.service, term])
for part in (when[:8], a.region, a.service, term):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
sts = "\n".join([alg, when, scope, hashlib.sha256(creq.encode()).hexdigest()])
sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
hdrs["authorization"] = "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
    alg, ak, scope, ";".join(signed), sig)

send = a.send_body.encode() if a.send_body is not None else body
if u.scheme == "https":
    conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=10,
                                       context=ssl.create_default_context(cafile=a.cacert))
else:
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
conn.putrequest("POST", "/" + ("?" + a.query if a.query else ""), skip_host=True,
                skip_accept_encoding=True)
for k, v in hdrs.items():
    conn.putheader(k, v)
conn.putheader("Content-Length", str(len(send)))
conn.endheaders(send)
r = conn.getresponse()
print(r.status)
print(r.read().decode())
PY

# call ARGS...: run the client; sets CODE and BODY.
call() {
  local out
  out=$("$T_PY" "$T_WORK/client.py" "$@") || t_fail "client.py $* failed"
  CODE=${out%%$'\n'*}
  BODY=${out#*$'\n'}
}
# sigv4 CURL_SIGV4 AK:SK TARGET [CURL ARGS...]: curl's own SigV4 signer; sets CODE and BODY.
sigv4() {
  local prov=$1 key=$2 target=$3
  shift 3
  CODE=$(curl -sS -o "$T_WORK/body" -w '%{http_code}' --max-time 10 --aws-sigv4 "$prov" --user "$key" \
    -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $target" "$@")
  BODY=$(cat "$T_WORK/body")
}
# hdr FILE NAME: the value of header NAME (case-insensitive) in a curl -D dump.
hdr() { tr -d '\r' <"$1" | sed -n "s/^$2: //Ip" | tail -n 1; }

ECR_T=AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken
PUB_T=SpencerFrontendService.GetAuthorizationToken
AK=AKIDIMGPULLTEST01
SK='wJalrXUtnFEMI/K7MDENG+bPxRfiCYimgpullKEY'
ECR_PW=ecr-pw-Zq81u
VOLC_AK=AKLTimgpulltest
VOLC_SK='TmpZeE1EQmxPVGhsWWpWak5HVmtNbUU='
VOLC_TOKEN=volc-tok-Hh27x

# ---------------------------------------------------------------- registries
t_make_image "$T_WORK/oci" v1 --layer 16K
IMG=$T_IMG_MANIFEST
ACCEPT=(-H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json')
t_registry_start ECR --htpasswd "AWS:$ECR_PW"
t_push "$T_WORK/oci" v1 "$REG_ECR_ADDR" test/img:v1
ROOT=$REG_ECR_ROOT # every other registry serves the same storage
t_quirk_registry_start EPUB --shape ecr-public --tls --anonymous --root "$ROOT"

# ---------------------------------------------------------------- ECR
t_fakecloud_start AWS --key "$AK:$SK" --key OTHERKEY:other --ecr-password "$ECR_PW" \
  --public-token-registry EPUB --volc-key "$VOLC_AK:$VOLC_SK" --volc-instance imgpull-test \
  --volc-user volc-user-1 --volc-token "$VOLC_TOKEN"
URL=$CLOUD_AWS_URL/
sigv4 aws:amz:us-west-2:ecr "$AK:$SK" "$ECR_T" -d '{}' "$URL"
t_assert_eq "$CODE" 200 "ECR GetAuthorizationToken signed by curl: $BODY"
t_assert_eq "$(jq -r '.authorizationData[0].authorizationToken' <<<"$BODY" | base64 -d)" "AWS:$ECR_PW" "authorizationToken"
t_assert_eq "$(jq -r '.authorizationData[0].proxyEndpoint' <<<"$BODY")" "https://123456789012.dkr.ecr.us-west-2.amazonaws.com" "proxyEndpoint"
exp=$(jq -r '.authorizationData[0].expiresAt | if type == "number" then . else "x" end' <<<"$BODY")
((exp > $(date +%s) + 43000)) || t_fail "expiresAt $exp is not a number 12 h ahead"
ECR_TOKEN=$(jq -r '.authorizationData[0].authorizationToken' <<<"$BODY")
code=$(curl -sS -o "$T_WORK/m.json" -w '%{http_code}' "${ACCEPT[@]}" -H "Authorization: Basic $ECR_TOKEN" "$REG_ECR_URL/v2/test/img/manifests/v1")
t_assert_eq "$code" 200 "manifest with Basic <authorizationToken>"
t_assert_eq "$(t_sha256 "$T_WORK/m.json")" "$IMG" "manifest digest"
sigv4 aws:amz:us-west-2:ecr "$AK:$SK" "$ECR_T" -d '{"registryIds":["111122223333","444455556666"]}' "$URL"
t_assert_eq "$(jq -r '[.authorizationData[].proxyEndpoint] | join(" ")' <<<"$BODY")" \
  "https://111122223333.dkr.ecr.us-west-2.amazonaws.com https://444455556666.dkr.ecr.us-west-2.amazonaws.com" "registryIds"
call aws "$URL" --key "$AK:$SK" --region us-west-2 --service ecr --target "$ECR_T"
t_assert_eq "$CODE" 200 "ECR signed by the second signer: $BODY"
t_ok "ECR: curl's and our own SigV4 accepted; the token works as Basic on the registry"

sigv4 aws:amz:us-west-2:ecr "$AK:wrong-secret" "$ECR_T" -d '{}' "$URL"
t_assert_eq "$CODE" 403 "wrong secret"
t_assert_eq "$(jq -r .__type <<<"$BODY")" InvalidSignatureException "wrong secret __type"
t_assert_match "$(jq -r .message <<<"$BODY")" '^The request signature we calculated does not match' "wrong secret message"
sigv4 aws:amz:us-west-2:ecr "AKIDUNKNOWN:$SK" "$ECR_T" -d '{}' "$URL"
t_assert_eq "$CODE $BODY" '400 {"__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."}' "unknown key"
call aws "$URL" --key "$AK:$SK" --region us-west-2 --service ecr --target "$ECR_T" --date-offset -1200
t_assert_eq "$CODE $(jq -r .__type <<<"$BODY")" "403 InvalidSignatureException" "X-Amz-Date 20 min old"
t_assert_match "$(jq -r .message <<<"$BODY")" '^Signature expired: [0-9T]+Z is now earlier than' "stale date message"
call aws "$URL" --key "$AK:$SK" --region us-west-2 --service ecr --target "$ECR_T" --date-offset 1200
t_assert_match "$CODE $(jq -r .message <<<"$BODY")" '^403 Signature not yet current' "X-Amz-Date 20 min ahead"
call aws "$URL" --key "$AK:$SK" --region us-west-2 --service ecr --target "$ECR_T" --date-offset -600
t_assert_eq "$CODE" 200 "X-Amz-Date 10 min old (within 15 min)"
sigv4 aws:amz:eu-west-1:ecr "$AK:$SK" "$ECR_T" -d '{}' "$URL"
t_assert_match "$CODE $(jq -r .message <<<"$BODY")" "^403 Credential should be scoped to a valid region, not 'eu-west-1'" "wrong region"
sigv4 aws:amz:us-west-2:ecr-public "$AK:$SK" "$ECR_T" -d '{}' "$URL"
t_assert_match "$CODE $(jq -r .message <<<"$BODY")" "^403 Credential should be scoped to correct service: 'ecr'" "wrong service"
call aws "$URL" --key "$AK:$SK" --region us-west-2 --service ecr --target "$ECR_T" --send-body '{"registryIds":["999999999999"]}'
t_assert_eq "$CODE $(jq -r .__type <<<"$BODY")" "403 InvalidSignatureException" "body changed after signing"
call aws "$URL" --key "$AK:$SK" --region us-west-2 --service ecr --target "$ECR_T" --unsigned host
t_assert_eq "$CODE $(jq -r .__type <<<"$BODY")" "400 IncompleteSignatureException" "host not signed"
sigv4 aws:amz:us-west-2:ecr "$AK:$SK" AmazonEC2ContainerRegistry_V20150921.DescribeImages -d '{}' "$URL"
t_assert_eq "$CODE $(jq -r .__type <<<"$BODY")" "400 UnknownOperationException" "another operation"
call aws "$URL" --key "$AK:$SK" --region us-west-2 --service ecr --target "$ECR_T" --content-type application/json
t_assert_eq "$CODE $(jq -r .__type <<<"$BODY")" "400 UnknownOperationException" "wrong Content-Type"
call aws "$URL" --key "$AK:$SK" --region us-west-2 --service ecr --target "$ECR_T" --body '[1]'
t_assert_eq "$CODE $(jq -r .__type <<<"$BODY")" "400 SerializationException" "body not an object"
sigv4 aws:amz:us-west-2:ecr "$AK:$SK" "$ECR_T" -d '{"registryIds":["12"]}' "$URL"
t_assert_eq "$CODE $(jq -r .__type <<<"$BODY")" "400 InvalidParameterException" "malformed registryIds"
code=$(curl -sS -o "$T_WORK/body" -w '%{http_code}' -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $ECR_T" -d '{}' "$URL")
t_assert_eq "$code $(jq -r .__type "$T_WORK/body")" "400 MissingAuthenticationTokenException" "unsigned request"
t_ok "ECR refusals: wrong secret, unknown key, stale/future date, region, service, body, host, target, content type"

# ---------------------------------------------------------------- ECR Public
sigv4 aws:amz:us-east-1:ecr-public "$AK:$SK" "$PUB_T" -d '{}' "$URL"
t_assert_eq "$CODE" 200 "ECR Public GetAuthorizationToken: $BODY"
t_assert_eq "$(jq -r '.authorizationData | type' <<<"$BODY")" object "authorizationData is an object"
PUB_TOKEN=$(jq -r .authorizationData.authorizationToken <<<"$BODY")
claims=$(t_jwt_claims "$PUB_TOKEN")
t_assert_eq "$(jq -r '[.iss, .aud] | join(" ")' <<<"$claims")" "$TOKEN_ISSUER public.ecr.aws" "ECR Public JWT iss aud"
t_assert_eq "$(jq -c '.access' <<<"$claims")" '[{"type":"repository","name":"test/img","actions":["pull"]}]' "ECR Public JWT access"
t_assert_eq "$(jq -r '.authorizationData.expiresAt - (now | floor) | . > 43000 and . <= 43200' <<<"$BODY")" true "ECR Public expiresAt"
sigv4 aws:amz:us-west-2:ecr-public "$AK:$SK" "$PUB_T" -d '{}' "$URL"
t_assert_match "$CODE $(jq -r .message <<<"$BODY")" "^403 Credential should be scoped to a valid region, not 'us-west-2'" "ECR Public outside us-east-1"
sigv4 aws:amz:us-east-1:ecr "$AK:$SK" "$PUB_T" -d '{}' "$URL"
t_assert_match "$CODE $(jq -r .message <<<"$BODY")" "^403 Credential should be scoped to correct service: 'ecr-public'" "ECR Public signed for ecr"

# The front: public.ecr.aws's quirks, and the JWT as Bearer through it.
PUB=(--cacert "$FRONT_EPUB_CA" --connect-to "public.ecr.aws:443:$FRONT_EPUB_ADDR")
MPUB=https://public.ecr.aws/v2/test/img/manifests/v1
code=$(curl -sS -o "$T_WORK/m.json" -w '%{http_code}' "${PUB[@]}" "${ACCEPT[@]}" -H "Authorization: Bearer $PUB_TOKEN" "$MPUB")
t_assert_eq "$code" 200 "manifest through public.ecr.aws with the ECR Public token"
t_assert_eq "$(t_sha256 "$T_WORK/m.json")" "$IMG" "manifest digest (ECR Public)"
curl -sS -o "$T_WORK/b" -D "$T_WORK/h" "${PUB[@]}" "${ACCEPT[@]}" "$MPUB"
t_assert_match "$(head -n1 "$T_WORK/h")" ' 401' "public.ecr.aws without a token"
t_assert_eq "$(hdr "$T_WORK/h" www-authenticate)" 'Bearer realm="https://public.ecr.aws/token",service="public.ecr.aws",scope="repository:test/img:pull"' "public.ecr.aws challenge"
for auth in "Bearer ${PUB_TOKEN%??????}xxxxxx" "Basic $(printf 'AWS:%s' "$PUB_TOKEN" | base64 -w0)"; do
  curl -sS -o "$T_WORK/b" -D "$T_WORK/h" "${PUB[@]}" "${ACCEPT[@]}" -H "Authorization: $auth" "$MPUB"
  t_assert_match "$(head -n1 "$T_WORK/h")" ' 400' "public.ecr.aws with a bad ${auth%% *} credential"
  t_assert_eq "$(cat "$T_WORK/b")" '{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]}' "DENIED body"
  t_assert_eq "$(hdr "$T_WORK/h" www-authenticate)" "" "no challenge with the 400"
done
# The anonymous token flow through the front's own realm.
curl -sS -o "$T_WORK/t.json" "${PUB[@]}" "https://public.ecr.aws/token?service=public.ecr.aws&scope=repository:test/img:pull"
code=$(curl -sS -o /dev/null -w '%{http_code}' "${PUB[@]}" "${ACCEPT[@]}" -H "Authorization: Bearer $(jq -r .token "$T_WORK/t.json")" "$MPUB")
t_assert_eq "$code" 200 "anonymous token from https://public.ecr.aws/token"
t_assert_file_contains "$FRONT_EPUB_LOG" '"GET /v2/test/img/manifests/v1 HTTP/1.1" 400 auth=bearer ' "front log: bearer refused"
t_assert_file_contains "$FRONT_EPUB_LOG" '"GET /v2/test/img/manifests/v1 HTTP/1.1" 400 auth=basic ' "front log: basic refused"
t_ok "ECR Public: the token is a registry JWT accepted as Bearer; the front answers 400 DENIED for bad ones"

# ---------------------------------------------------------------- Volcengine
VQ='Action=GetAuthorizationToken&Version=2022-05-12'
VB='{"Registry":"imgpull-test"}'
VOLC=(volc "$URL" --region cn-beijing --service cr --query "$VQ" --body "$VB")
call "${VOLC[@]}" --key "$VOLC_AK:$VOLC_SK"
t_assert_eq "$CODE" 200 "Volcengine GetAuthorizationToken: $BODY"
t_assert_eq "$(jq -r '[.Result.Username, .Result.Token] | join(":")' <<<"$BODY")" "volc-user-1:$VOLC_TOKEN" "Volcengine Result"
t_assert_match "$(jq -r .Result.ExpireTime <<<"$BODY")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "ExpireTime is RFC 3339"
t_assert_eq "$(jq -r '.ResponseMetadata | [.Action, .Version, .Service, .Region] | join(" ")' <<<"$BODY")" \
  "GetAuthorizationToken 2022-05-12 cr cn-beijing" "ResponseMetadata"
call "${VOLC[@]}" --key "$VOLC_AK:$VOLC_SK" --send-body '{"Registry":"other-one"}'
t_assert_eq "$CODE $(jq -r .ResponseMetadata.Error.Code <<<"$BODY")" "401 SignatureDoesNotMatch" "tampered body"
call "${VOLC[@]}" --key "$VOLC_AK:wrong"
t_assert_eq "$CODE $(jq -r .ResponseMetadata.Error.Code <<<"$BODY")" "401 SignatureDoesNotMatch" "wrong SK"
t_assert_eq "$(jq -r '.Result // "none"' <<<"$BODY")" none "no Result with an error"
call "${VOLC[@]}" --key "AKLTnobody:$VOLC_SK"
t_assert_eq "$CODE $(jq -r .ResponseMetadata.Error.Code <<<"$BODY")" "401 InvalidAccessKey" "unknown AK"
call "${VOLC[@]}" --key "$VOLC_AK:$VOLC_SK" --date-offset -1800
t_assert_eq "$CODE $(jq -r .ResponseMetadata.Error.Code <<<"$BODY")" "400 InvalidTimestamp" "stale X-Date"
call "${VOLC[@]}" --key "$VOLC_AK:$VOLC_SK" --unsigned content-type,x-content-sha256
t_assert_eq "$CODE $(jq -r .ResponseMetadata.Error.Code <<<"$BODY")" "401 SignatureDoesNotMatch" "content-type and x-content-sha256 not signed"
call volc "$URL" --region cn-shanghai --service cr --query "$VQ" --body "$VB" --key "$VOLC_AK:$VOLC_SK"
t_assert_eq "$CODE $(jq -r .ResponseMetadata.Error.Code <<<"$BODY")" "401 SignatureDoesNotMatch" "scope with another region"
call volc "$URL" --region cn-beijing --service cr --query "$VQ" --body '{"Registry":"someone-else"}' --key "$VOLC_AK:$VOLC_SK"
t_assert_eq "$CODE $(jq -r .ResponseMetadata.Error.Code <<<"$BODY")" "404 NotFound.Registry" "another instance"
call volc "$URL" --region cn-beijing --service cr --query "Action=GetAuthorizationToken&Version=2020-01-01" --body "$VB" --key "$VOLC_AK:$VOLC_SK"
t_assert_eq "$CODE $(jq -r .ResponseMetadata.Error.Code <<<"$BODY")" "404 InvalidActionOrVersion" "another version"
# The AWS key is no Volcengine key here (--volc-key given).
call "${VOLC[@]}" --key "$AK:$SK"
t_assert_eq "$CODE" 401 "an AWS key at Volcengine"
t_ok "Volcengine: signature accepted; tampered body, wrong SK, unknown AK, stale date, unsigned headers, scope, instance refused"

# ---------------------------------------------------------------- the fake's log
L=$CLOUD_AWS_LOG
t_assert_file_contains "$L" "^[0-9T:-]+ POST / api=$ECR_T ak=$AK verdict=ok status=200$" "log: ECR ok"
t_assert_file_contains "$L" "api=$ECR_T ak=$AK verdict=InvalidSignatureException:signature status=403$" "log: bad signature"
t_assert_file_contains "$L" "ak=AKIDUNKNOWN verdict=UnrecognizedClientException:unknown-key status=400$" "log: unknown key"
t_assert_file_contains "$L" "verdict=InvalidSignatureException:expired status=403$" "log: expired"
t_assert_file_contains "$L" "^[0-9T:-]+ POST /\?$VQ api=GetAuthorizationToken ak=$VOLC_AK verdict=ok status=200$" "log: Volcengine ok"
t_assert_file_contains "$L" "ak=$VOLC_AK verdict=SignatureDoesNotMatch:content-sha256 status=401$" "log: tampered body"
t_assert_file_lacks "$L" "$SK|$ECR_PW|$VOLC_SK|$VOLC_TOKEN|$ECR_TOKEN|Signature=|eyJ|wrong-secret" "secrets in the fake's log"
t_ok "log: one line per request with key id and verdict, no secret, signature or token"

# ---------------------------------------------------------------- nvcr.io
# Tokens live 3 s (the registry then refuses them), to see the expired-token challenge.
# shellcheck disable=SC2016 # NGC's user name is the literal '$oauthtoken'
NGC_CREDS='$oauthtoken:nvapi-Kq3'
t_quirk_registry_start NGC --shape ngc --tls --root "$ROOT" --user "$NGC_CREDS" --token-lifetime 3
NGC=(--cacert "$FRONT_NGC_CA" --connect-to "nvcr.io:443:$FRONT_NGC_ADDR")
MNGC=https://nvcr.io/v2/test/img/manifests/v1
curl -sS -o /dev/null -D "$T_WORK/h" "${NGC[@]}" https://nvcr.io/v2/
t_assert_match "$(head -n1 "$T_WORK/h")" ' 401' "nvcr.io /v2/"
t_assert_eq "$(hdr "$T_WORK/h" www-authenticate)" 'Bearer realm="https://nvcr.io/proxy_auth"' "nvcr.io challenge of /v2/ (no service)"
curl -sS -o /dev/null -D "$T_WORK/h" "${NGC[@]}" "${ACCEPT[@]}" "$MNGC"
t_assert_eq "$(hdr "$T_WORK/h" www-authenticate)" 'Bearer realm="https://nvcr.io/proxy_auth",scope="repository:test/img:pull"' "nvcr.io manifest challenge"
# The client follows the challenge: no service parameter.
code=$(curl -sS -o "$T_WORK/t.json" -w '%{http_code}' "${NGC[@]}" -u "$NGC_CREDS" "https://nvcr.io/proxy_auth?scope=repository:test/img:pull")
t_assert_eq "$code" 200 "token from https://nvcr.io/proxy_auth without service"
NGC_TOKEN=$(jq -r .token "$T_WORK/t.json")
t_assert_eq "$(t_jwt_claims "$NGC_TOKEN" | jq -r .aud)" "$TOKEN_NGC_SERVICE" "aud without a service parameter"
code=$(curl -sS -o "$T_WORK/m.json" -w '%{http_code}' "${NGC[@]}" "${ACCEPT[@]}" -H "Authorization: Bearer $NGC_TOKEN" "$MNGC")
t_assert_eq "$code" 200 "manifest through nvcr.io with the token"
t_assert_eq "$(t_sha256 "$T_WORK/m.json")" "$IMG" "manifest digest (nvcr.io)"
t_assert_file_contains "$TOKEN_NGC_LOG" 'GET /proxy_auth\?scope=repository:test/img:pull auth=Basic status=200 token=[0-9]+' "token server log"

# A short-lived ECR Public token too, to expire in the same wait.
t_fakecloud_start AWS2 --key "$AK:$SK" --public-token-registry EPUB --public-token-lifetime 3 \
  --public-reported-lifetime 3600 --expires-at-format alternate --tls
# alternate: number, RFC 3339 string, AWS's 1.234E9 form, number with a fraction
for want in '[0-9]{10}' '"[0-9-]{10}T[0-9:]{8}Z"' '1\.[0-9]+E9' '[0-9]{10}\.[0-9]{3}'; do
  sigv4 aws:amz:us-east-1:ecr-public "$AK:$SK" "$PUB_T" -d '{}' --cacert "$CLOUD_AWS2_CA" \
    --connect-to "api.ecr-public.us-east-1.amazonaws.com:443:$CLOUD_AWS2_ADDR" https://api.ecr-public.us-east-1.amazonaws.com/
  t_assert_eq "$CODE" 200 "ECR Public from the HTTPS fake"
  t_assert_match "$BODY" "\"expiresAt\": $want}" "expiresAt written as /$want/"
done
SHORT_PUB=$(jq -r .authorizationData.authorizationToken <<<"$BODY")
code=$(curl -sS -o /dev/null -w '%{http_code}' "${PUB[@]}" "${ACCEPT[@]}" -H "Authorization: Bearer $SHORT_PUB" "$MPUB")
t_assert_eq "$code" 200 "fresh short-lived ECR Public token"

sleep 4
curl -sS -o /dev/null -D "$T_WORK/h" "${NGC[@]}" "${ACCEPT[@]}" -H "Authorization: Bearer $NGC_TOKEN" "$MNGC"
t_assert_match "$(head -n1 "$T_WORK/h")" ' 401' "nvcr.io with the expired token"
t_assert_eq "$(hdr "$T_WORK/h" www-authenticate)" "Bearer realm=\"$TOKEN_NGC_URL/authn-other\",scope=\"repository:test/img:pull\",error=\"invalid_token\"" \
  "nvcr.io challenge for an expired token"
t_assert_file_contains "$REG_NGC_LOG" 'token not to be used after' "the registry saw an expired token"
curl -sS -o /dev/null -D "$T_WORK/h" "${NGC[@]}" -H "Authorization: Bearer not-a-jwt" https://nvcr.io/v2/
t_assert_eq "$(hdr "$T_WORK/h" www-authenticate)" "Bearer realm=\"$TOKEN_NGC_URL/authn-other\",error=\"invalid_token\"" "nvcr.io challenge for a bad token"
code=$(curl -sS -o /dev/null -w '%{http_code}' -u "$NGC_CREDS" "$TOKEN_NGC_URL/authn-other?scope=repository:test/img:pull")
t_assert_eq "$code" 401 "the other realm refuses"
# Back at /v2/ without a token, the proxy_auth realm again.
curl -sS -o /dev/null -D "$T_WORK/h" "${NGC[@]}" https://nvcr.io/v2/
t_assert_eq "$(hdr "$T_WORK/h" www-authenticate)" 'Bearer realm="https://nvcr.io/proxy_auth"' "nvcr.io challenge after the refusal"
t_assert_file_contains "$FRONT_NGC_LOG" '"GET /v2/test/img/manifests/v1 HTTP/1.1" 401 auth=bearer upstream=401' "front log (ngc)"
t_assert_file_lacks "$FRONT_NGC_LOG" "eyJ|not-a-jwt|nvapi" "credential in the front log"
t_ok "nvcr.io: challenge without service; token without service works; expired/bad token -> other realm, invalid_token"

code=$(curl -sS -o "$T_WORK/b" -w '%{http_code}' "${PUB[@]}" "${ACCEPT[@]}" -H "Authorization: Bearer $SHORT_PUB" "$MPUB")
t_assert_eq "$code $(jq -r '.errors[0].code' "$T_WORK/b")" "400 DENIED" "expired ECR Public token through public.ecr.aws"
t_ok "ECR Public token past --public-token-lifetime (expiresAt said 1 h): 400 DENIED"

# ---------------------------------------------------------------- Harbor
t_quirk_registry_start HB --shape harbor --tls --http2 --root "$ROOT" --user alice:al1ce-pw
HB=(--cacert "$FRONT_HB_CA" --connect-to "myharbor.example.com:443:$FRONT_HB_ADDR")
curl -sS -o "$T_WORK/b" -D "$T_WORK/h" "${HB[@]}" -u alice:al1ce-pw https://myharbor.example.com/v2/
t_assert_match "$(head -n1 "$T_WORK/h")" ' 401' "Harbor /v2/ with Basic"
t_assert_eq "$(hdr "$T_WORK/h" www-authenticate)" 'Basic realm="harbor"' "Harbor's answer to Basic credentials"
t_assert_file_contains "$FRONT_HB_LOG" '"GET /v2/ HTTP/2.0" 401 auth=basic upstream=- ' "not forwarded"
curl -sS -o /dev/null -D "$T_WORK/h" "${HB[@]}" https://myharbor.example.com/v2/
t_assert_eq "$(hdr "$T_WORK/h" www-authenticate)" 'Bearer realm="https://myharbor.example.com/service/token",service="harbor-registry"' "Harbor challenge"
code=$(curl -sS -o "$T_WORK/t.json" -w '%{http_code}' "${HB[@]}" -u alice:al1ce-pw \
  "https://myharbor.example.com/service/token?service=harbor-registry&scope=repository:test/img:pull")
t_assert_eq "$code" 200 "token from Harbor's /service/token"
HB_TOKEN=$(jq -r .token "$T_WORK/t.json")
code=$(curl -sS -o "$T_WORK/m.json" -w '%{http_code}' "${HB[@]}" "${ACCEPT[@]}" -H "Authorization: Bearer $HB_TOKEN" \
  https://myharbor.example.com/v2/test/img/manifests/v1)
t_assert_eq "$code" 200 "manifest through Harbor with the token"
t_assert_eq "$(t_sha256 "$T_WORK/m.json")" "$IMG" "manifest digest (Harbor)"
code=$(curl -sS -o /dev/null -w '%{http_code}' "${HB[@]}" -H "Authorization: Bearer $HB_TOKEN" https://myharbor.example.com/v2/)
t_assert_eq "$code" 200 "Harbor /v2/ with Bearer passes"
t_ok "Harbor: Basic at /v2/ -> Basic realm=\"harbor\"; Bearer flow through /service/token works (HTTP/2)"

t_pass "in $((SECONDS - T0)) s"
