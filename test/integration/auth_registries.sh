#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Token-auth registries as the real ones behave, each reached under its real
# hostname with --connect-to over TLS: nvcr.io (proxy_auth realm without service;
# after expiry the challenge points elsewhere and /v2/ must be probed again),
# Harbor (never send credentials before the challenge), public.ecr.aws (token from
# the ecr-public API used as Bearer; 400 DENIED on expiry; anonymous pulls), Docker
# Hub and ACR answer shapes with kubelet-style keys, a secret rotated by the kubelet
# while a pull runs, and a verbose pull whose whole output holds no secret.
# The registries are the real docker-registry with `auth: token`; the fronts are nginx.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
source "$IMGPULL_SRC/test/lib/token.sh"
source "$IMGPULL_SRC/test/lib/cloud.sh"
source "$IMGPULL_SRC/test/lib/secrets.sh"
t_workdir

t_make_image "$T_WORK/src" v1 --layer 1M --layer 3M
img=$T_IMG_MANIFEST
t_make_image "$T_WORK/big" v2 --layer 16M
big=$T_IMG_MANIFEST
pull() { "$IMGPULL" pull --progress none "$@"; }

# ---- nvcr.io: $oauthtoken:API_KEY; tokens die after 3 s on a slow registry.
NGC_KEY=nvapi-Ngc-TEST-key-0123456789
t_token_registry_start NGC --realm-path /proxy_auth --deny-path /authn-other \
  --user "\$oauthtoken:$NGC_KEY" --token-lifetime 3 --expires-in 600
t_push "$T_WORK/src" v1 "$REG_NGC_ADDR" nvidia/tiny:1
t_push "$T_WORK/big" v2 "$REG_NGC_ADDR" nvidia/big:2
ip_nginx_proxy_start NGCSLOW "$REG_NGC_ADDR" 1m
t_registry_front_start NGC "$PROXY_NGCSLOW_ADDR" --token NGC --shape ngc --tls
t_dockerconfigjson "nvcr.io=\$oauthtoken:$NGC_KEY" >"$T_WORK/ngc.json"
ngc=(--secret "$T_WORK/ngc.json" --ca-file "$FRONT_NGC_CA" --connect-to "nvcr.io:443:$FRONT_NGC_ADDR")
t_expect_exit 0 "$IMGPULL" auth "${ngc[@]}" nvcr.io/nvidia/tiny:1
t_assert_file_contains "$T_OUT" 'kind +ngc' "auth: NGC kind"
t_assert_file_contains "$T_OUT" 'scheme +bearer, realm https://nvcr.io/proxy_auth, service \(none\)' "auth: proxy_auth realm without service"
# The whole pull outlives its token: 401s midway, then a fresh probe and new tokens.
other_before=$(grep -c '/authn-other' "$TOKEN_NGC_LOG" || true) # the front's own start-up check
"$IMGPULL" pull --progress json -v -v --dest "$T_WORK/ngc" "${ngc[@]}" --chunk-size 1M --connections 4 \
  nvcr.io/nvidia/big:2 >"$T_WORK/ngc.log" 2>&1 || { tail -n 30 "$T_WORK/ngc.log"; t_fail "NGC pull across token expiry failed"; }
ip_check_layout "$T_WORK/ngc"
grep -q ' 401 auth=bearer' "$FRONT_NGC_LOG" || t_fail "the slow NGC pull should have met an expired token"
grep -q 'authn-other' "$FRONT_NGC_LOG" && t_fail "imgpull followed the post-expiry realm instead of probing /v2/ again"
t_assert_eq "$(grep -c '/authn-other' "$TOKEN_NGC_LOG" || true)" "$other_before" "no request to the post-expiry realm"
ntok=$(grep -c '/proxy_auth.* token=[0-9]' "$TOKEN_NGC_LOG" || true)
[[ $ntok -ge 2 ]] || t_fail "expected new proxy_auth tokens after the expiry, saw $ntok"
nprobe=$(grep -c '"GET /v2/ HTTP/[0-9.]*" 401 auth=none' "$FRONT_NGC_LOG" || true)
[[ $nprobe -ge 2 ]] || t_fail "expected /v2/ to be probed again after the expiry, saw $nprobe probes"
t_assert_file_lacks "$T_WORK/ngc.log" "$NGC_KEY|eyJ|$(t_b64 "\$oauthtoken:$NGC_KEY" | cut -c1-24)" "verbose NGC pull shows no key and no token"
t_ok "NGC: proxy_auth realm, $ntok tokens across expiry, /v2/ probed $nprobe times, nothing secret in the debug log"

# ---- Harbor: the front answers Basic realm="harbor" to credentials sent too early.
t_quirk_registry_start HARBOR --shape harbor --tls --user 'robot$ci:Harb0r-pw'
t_push "$T_WORK/src" v1 "$FRONT_HARBOR_ADDR" library/app:v1
t_dockerconfigjson "myharbor.example.com=robot\$ci:Harb0r-pw" >"$T_WORK/harbor.json"
harbor=(--secret "$T_WORK/harbor.json" --ca-file "$FRONT_HARBOR_CA" --connect-to "myharbor.example.com:443:$FRONT_HARBOR_ADDR")
: >"$FRONT_HARBOR_LOG"
t_expect_exit 0 pull --dest "$T_WORK/harbor" "${harbor[@]}" myharbor.example.com/library/app:v1
ip_check_layout "$T_WORK/harbor"
t_assert_file_lacks "$FRONT_HARBOR_LOG" '"GET /v2/ [^"]*" [0-9]+ auth=basic' "no credential sent to /v2/ before the challenge"
t_expect_exit 0 "$IMGPULL" auth "${harbor[@]}" myharbor.example.com/library/app:v1
t_assert_file_contains "$T_OUT" 'kind +harbor \(from token realm\)' "auth: Harbor recognised from its realm"
t_ok "Harbor: credentials only after the challenge"

# ---- public.ecr.aws: anonymous, and with an IAM key through the ecr-public API.
t_token_registry_start PUB --service public.ecr.aws --anonymous
t_push "$T_WORK/src" v1 "$REG_PUB_ADDR" team/tool:1
t_push "$T_WORK/big" v2 "$REG_PUB_ADDR" team/big:2
ip_nginx_proxy_start PUBSLOW "$REG_PUB_ADDR" 1m
t_registry_front_start PUB "$PROXY_PUBSLOW_ADDR" --token PUB --shape ecr-public --tls
AK=AKIAPUBLICECRTEST001 SK=PublicEcrSecretKeyForTests/abc
t_fakecloud_start AWS --key "$AK:$SK" --public-token-registry PUB --public-token-lifetime 3 --public-reported-lifetime 3600
pub=(--ca-file "$FRONT_PUB_CA" --connect-to "public.ecr.aws:443:$FRONT_PUB_ADDR")
t_expect_exit 0 pull --dest "$T_WORK/pub-anon" "${pub[@]}" public.ecr.aws/team/tool:1
t_assert_eq "$(grep -c "verdict=" "$CLOUD_AWS_LOG" || true)" 0 "anonymous pull made no API call"
t_ok "ECR public: anonymous pull"
t_dockerconfigjson "public.ecr.aws=$AK:$SK" >"$T_WORK/pub.json"
AWS_ENDPOINT_URL_ECR_PUBLIC=$CLOUD_AWS_URL "$IMGPULL" pull --progress none -v -v --dest "$T_WORK/pub" --secret "$T_WORK/pub.json" "${pub[@]}" --chunk-size 1M --connections 4 \
  public.ecr.aws/team/big:2 >"$T_WORK/pub.log" 2>&1 || { tail -n 30 "$T_WORK/pub.log"; t_fail "ECR public pull across token expiry failed"; }
ip_check_layout "$T_WORK/pub"
grep -q ' 400 auth=bearer' "$FRONT_PUB_LOG" || t_fail "the slow pull should have met 400 DENIED for an expired token"
napi=$(grep -c 'SpencerFrontendService.GetAuthorizationToken ak=[A-Z0-9]* verdict=ok' "$CLOUD_AWS_LOG" || true)
[[ $napi -ge 2 ]] || t_fail "expected a new ecr-public token after 400 DENIED, saw $napi API calls"
t_assert_file_lacks "$T_WORK/pub.log" "$SK|eyJ" "verbose ECR public pull shows no key and no token"
t_ok "ECR public: key -> ecr-public token as Bearer, $napi API calls across a 400 DENIED expiry"

# ---- Docker Hub and ACR answer shapes, with the keys people write in secrets.
export T_TLS_SANS="DNS:registry-1.docker.io,DNS:myreg.azurecr.io"
t_token_registry_start HUB --tls --token-tls --user hubuser:Hub-pat-123 --shape docker
t_token_registry_start ACR --tls --token-tls --user 00000000-0000-0000-0000-000000000000:Acr-pw-456 --shape acr
unset T_TLS_SANS
t_push "$T_WORK/src" v1 "$REG_HUB_ADDR" library/app:v1
t_push "$T_WORK/src" v1 "$REG_ACR_ADDR" team/app:v1
cat "$REG_HUB_CA" "$REG_ACR_CA" >"$T_WORK/ca.pem"
jq -n --arg hub "$(t_b64 hubuser:Hub-pat-123)" --arg acr "$(t_b64 00000000-0000-0000-0000-000000000000:Acr-pw-456)" \
  '{auths: {"https://index.docker.io/v1/": {auth: $hub}, "*.azurecr.io": {auth: $acr}}}' >"$T_WORK/hub-acr.json"
shapes=(--secret "$T_WORK/hub-acr.json" --ca-file "$T_WORK/ca.pem"
  --connect-to "registry-1.docker.io:443:127.0.0.1:$REG_HUB_PORT" --connect-to "myreg.azurecr.io:443:127.0.0.1:$REG_ACR_PORT")
t_expect_exit 0 pull --dest "$T_WORK/shapes" "${shapes[@]}" app:v1 myreg.azurecr.io/team/app:v1
ip_check_layout "$T_WORK/shapes"
t_assert_eq "$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$T_WORK/shapes/index.json" | sort | tr '\n' ' ')" \
  "docker.io/library/app:v1 myreg.azurecr.io/team/app:v1 " "both images in the layout"
t_expect_exit 0 "$IMGPULL" auth "${shapes[@]}" app:v1 myreg.azurecr.io/team/app:v1
t_assert_file_contains "$T_OUT" "kind +dockerhub" "auth: Docker Hub"
t_assert_file_contains "$T_OUT" "entry 'https://index.docker.io/v1/'" "auth: the Docker Hub URL key matched"
t_assert_file_contains "$T_OUT" "kind +acr" "auth: ACR"
t_assert_file_contains "$T_OUT" "entry '\\*.azurecr.io'" "auth: the ACR glob key matched"
t_ok "Docker Hub (URL key) and ACR (glob key, access_token only)"

# ---- A secret rotated by the kubelet during a pull whose token expires: the old
# password is revoked, the re-authentication reads the new secret and goes on.
printf 'rot:Old-pass-1\n' >"$T_WORK/rot-users"
t_token_registry_start ROT --users "$T_WORK/rot-users" --token-lifetime 3 --expires-in 300
t_push "$T_WORK/big" v2 "$REG_ROT_ADDR" rot/app:2
ip_nginx_proxy_start ROTSLOW "$REG_ROT_ADDR" 1m
t_dockerconfigjson "$REG_ROT_ADDR=rot:Old-pass-1" >"$T_WORK/rot-old.json"
t_dockerconfigjson "$REG_ROT_ADDR=rot:New-pass-2" >"$T_WORK/rot-new.json"
t_secret_dir "$T_WORK/mnt/rot" .dockerconfigjson "$T_WORK/rot-old.json"
"$IMGPULL" pull --progress none -v --dest "$T_WORK/rot" --secret "$T_WORK/mnt/rot" --chunk-size 1M --connections 4 \
  --plain-http "$PROXY_ROTSLOW_ADDR" --plain-http "$REG_ROT_ADDR" --connect-to "$REG_ROT_ADDR:$PROXY_ROTSLOW_ADDR" \
  "$REG_ROT_ADDR/rot/app:2" >"$T_WORK/rot.log" 2>&1 &
pid=$!
sleep 1
printf 'rot:New-pass-2\n' >"$T_WORK/rot-users.new" && mv "$T_WORK/rot-users.new" "$T_WORK/rot-users"
t_secret_rotate "$T_WORK/mnt/rot" .dockerconfigjson "$T_WORK/rot-new.json"
wait "$pid" || { tail -n 30 "$T_WORK/rot.log"; t_fail "the pull did not survive the rotation"; }
ip_check_layout "$T_WORK/rot"
t_assert_file_contains "$T_WORK/rot.log" 'the secret changed since it was read' "the rotated secret was re-read"
grep -q ' 401 ' "$PROXY_ROTSLOW_LOG" || t_fail "the pull should have met an expired token"
t_ok "kubelet rotation of ..data mid-pull picked up on re-authentication"
t_pass
