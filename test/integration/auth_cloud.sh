#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cloud registries whose credential is an access key: AWS ECR (private) and
# Volcano Engine CR. Their token APIs are fakes (test/lib/fakecloud.py) that check
# the SigV4 / Volcengine signature as the real services do; the registry behind is
# the real docker-registry over TLS, reached under the cloud hostname with
# --connect-to, and its htpasswd takes the password the fake API hands out.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
source "$IMGPULL_SRC/test/lib/token.sh"
source "$IMGPULL_SRC/test/lib/cloud.sh"
source "$IMGPULL_SRC/test/lib/secrets.sh"
t_workdir

ECR=123456789012.dkr.ecr.us-west-2.amazonaws.com
VOLC=myinst-cn-beijing.cr.volces.com
AK=AKIAIMGPULLTEST00001 SK=wJalrXUtnFEMI/K7MDENG+bPxRfiCYimgpullSK
VAK=AKLTimgpullvolctest01 VSK=VolcSecretKeyForImgpullTests==
OTHER=otherinst-cn-beijing.cr.volces.com
export T_TLS_SANS="DNS:$ECR,DNS:$VOLC,DNS:$OTHER"
t_registry_start ECRREG --tls --htpasswd AWS:ecr-Registry-pw
t_registry_start VOLCREG --tls --htpasswd volc-user:volc-Registry-t0ken
unset T_TLS_SANS
t_fakecloud_start API --tls --key "$AK:$SK" --region us-west-2 --ecr-password ecr-Registry-pw \
  --ecr-token-lifetime 7200 --expires-at-format alternate \
  --volc-key "$VAK:$VSK" --volc-region cn-beijing --volc-instance myinst \
  --volc-user volc-user --volc-token volc-Registry-t0ken --volc-token-lifetime 3600 --volc-expire-offset 480
cat "$REG_ECRREG_CA" "$REG_VOLCREG_CA" "$CLOUD_API_CA" >"$T_WORK/ca-bundle.pem"

t_make_image "$T_WORK/src" v1 --layer 1M --layer 5M
img=$T_IMG_MANIFEST
t_push "$T_WORK/src" v1 "$REG_ECRREG_ADDR" app:1
t_push "$T_WORK/src" v1 "$REG_VOLCREG_ADDR" app:1

common=(--ca-file "$T_WORK/ca-bundle.pem"
  --connect-to "$ECR:443:127.0.0.1:$REG_ECRREG_PORT" --connect-to "$VOLC:443:127.0.0.1:$REG_VOLCREG_PORT")
export AWS_ENDPOINT_URL_ECR=$CLOUD_API_URL IMGPULL_VOLCENGINE_ENDPOINT=$CLOUD_API_URL
calls() { grep -c "verdict=$1" "$CLOUD_API_LOG" || true; }

# ---- ECR private: IAM key in the secret -> signed GetAuthorizationToken -> Basic.
t_dockerconfigjson "$ECR=$AK:$SK" >"$T_WORK/ecr.json"
t_secret_dir "$T_WORK/mnt/ecr" .dockerconfigjson "$T_WORK/ecr.json"
t_expect_exit 0 "$IMGPULL" pull --progress none --dest "$T_WORK/o1" --secret "$T_WORK/mnt/ecr" "${common[@]}" "$ECR/app:1"
ip_check_layout "$T_WORK/o1"
t_assert_eq "$(jq -r --arg r "$ECR/app:1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' "$T_WORK/o1/index.json")" "$img" "ECR image in the layout"
t_assert_eq "$(calls ok)" 1 "one signed GetAuthorizationToken for the whole pull"
t_assert_file_contains "$CLOUD_API_LOG" "api=AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken ak=$AK verdict=ok" "the fake verified the SigV4 signature"
t_ok "ECR: IAM key -> GetAuthorizationToken (SigV4 checked by the fake) -> registry"

# The API's expiresAt comes as a number, a string, AWS's scientific notation and a
# float in turn: each is read as ~7200 s, not a fallback.
for i in 1 2 3 4; do
  t_expect_exit 0 "$IMGPULL" auth --secret "$T_WORK/mnt/ecr" "${common[@]}" "$ECR/app:1"
  t_assert_file_contains "$T_OUT" 'kind +ecr \(from hostname\)' "auth: kind"
  t_assert_file_contains "$T_OUT" 'api token +valid (7200|71[0-9][0-9])s' "auth: API token expiry read from expiresAt (call $i)"
  t_assert_file_contains "$T_OUT" "credential +$T_WORK/mnt/ecr/.dockerconfigjson entry '$ECR'\$" "auth: entry"
  t_assert_file_contains "$T_OUT" 'manifest +ok' "auth: manifest readable"
done
t_ok "imgpull auth on ECR; expiresAt in all four shapes"

# Debug logging of a whole ECR pull: no secret key, no registry password, no token.
"$IMGPULL" pull --progress json -v -v --dest "$T_WORK/o1v" --secret "$T_WORK/mnt/ecr" "${common[@]}" "$ECR/app:1" \
  >"$T_WORK/ecr-verbose.log" 2>&1 || t_fail "verbose ECR pull failed"
grep -q 'GetAuthorizationToken' "$T_WORK/ecr-verbose.log" || t_fail "the debug log should mention the token call"
t_assert_file_lacks "$T_WORK/ecr-verbose.log" "$SK|ecr-Registry-pw|$(t_b64 AWS:ecr-Registry-pw | cut -c1-20)|Signature=" \
  "no secret, password, token or signature in the debug log"
t_ok "verbose ECR pull leaks nothing"

# AWS_ENDPOINT_URL is the fallback when the ECR-specific variable is unset.
t_expect_exit 0 env -u AWS_ENDPOINT_URL_ECR AWS_ENDPOINT_URL="$CLOUD_API_URL" \
  "$IMGPULL" pull --progress none --dest "$T_WORK/o1b" --secret "$T_WORK/mnt/ecr" "${common[@]}" "$ECR/app:1"

# A password from `aws ecr get-login-password` (user AWS) is used as it is: no API call.
before=$(calls ok)
t_dockerconfigjson "$ECR=AWS:ecr-Registry-pw" >"$T_WORK/ecr-aws.json"
t_expect_exit 0 "$IMGPULL" pull --progress none --dest "$T_WORK/o2" --secret "$T_WORK/ecr-aws.json" "${common[@]}" "$ECR/app:1"
t_assert_eq "$(calls ok)" "$before" "no API call for an AWS:password credential"
t_ok "ECR: AWS:password used directly"

# A wrong secret key: the fake refuses the signature; exit 3, the message says why.
t_dockerconfigjson "$ECR=$AK:not-the-secret" >"$T_WORK/ecr-badsk.json"
t_expect_exit 3 "$IMGPULL" pull --progress none --dest "$T_WORK/o3" --secret "$T_WORK/ecr-badsk.json" "${common[@]}" "$ECR/app:1"
t_assert_file_contains "$T_ERR" 'InvalidSignatureException.*secret access key is wrong' "bad signature explained"
t_assert_file_contains "$CLOUD_API_LOG" 'verdict=InvalidSignatureException' "the fake saw a wrong signature"
# An unknown key id (e.g. a temporary ASIA... key without its session token).
t_dockerconfigjson "$ECR=ASIAEXAMPLETEMPORARY:$SK" >"$T_WORK/ecr-sts.json"
t_expect_exit 3 "$IMGPULL" pull --progress none --dest "$T_WORK/o3" --secret "$T_WORK/ecr-sts.json" "${common[@]}" "$ECR/app:1"
t_assert_file_contains "$T_ERR" 'UnrecognizedClientException.*permanent IAM access key.*session \(SSO/STS\) tokens are not accepted' "temporary key explained"
t_assert_file_lacks "$T_ERR" "$SK|not-the-secret" "no secret key in the messages"
t_ok "ECR: wrong secret key and unknown key id fail with exit 3 and a clear reason"

# ---- Volcano Engine: signed GetAuthorizationToken for the instance in the hostname.
t_dockerconfigjson "$VOLC=$VAK:$VSK" >"$T_WORK/volc.json"
before=$(calls ok)
t_expect_exit 0 "$IMGPULL" pull --progress none --dest "$T_WORK/o4" --secret "$T_WORK/volc.json" "${common[@]}" "$VOLC/app:1"
ip_check_layout "$T_WORK/o4"
t_assert_eq "$(calls ok)" "$((before + 1))" "one Volcengine token call"
t_assert_file_contains "$CLOUD_API_LOG" "api=GetAuthorizationToken ak=$VAK verdict=ok" "the fake verified the Volcengine signature"
t_expect_exit 0 "$IMGPULL" auth --secret "$T_WORK/volc.json" "${common[@]}" "$VOLC/app:1"
t_assert_file_contains "$T_OUT" 'kind +volcengine' "auth: kind"
t_assert_file_contains "$T_OUT" 'api token +valid 3[0-9][0-9][0-9]s' "auth: ExpireTime with a +08:00 offset read right"
t_ok "Volcano Engine: key -> signed GetAuthorizationToken -> registry"

t_dockerconfigjson "$VOLC=$VAK:wrong-secret" >"$T_WORK/volc-bad.json"
t_expect_exit 3 "$IMGPULL" pull --progress none --dest "$T_WORK/o5" --secret "$T_WORK/volc-bad.json" "${common[@]}" "$VOLC/app:1"
t_assert_file_contains "$T_ERR" 'Volcano Engine GetAuthorizationToken.*refused the signature' "bad Volcengine signature explained"
t_dockerconfigjson "$OTHER=$VAK:$VSK" >"$T_WORK/volc-other.json"
t_expect_exit 4 "$IMGPULL" pull --progress none --dest "$T_WORK/o5" --secret "$T_WORK/volc-other.json" "${common[@]}" \
  --connect-to "$OTHER:443:127.0.0.1:$REG_VOLCREG_PORT" "$OTHER/app:1"
t_assert_file_contains "$T_ERR" 'otherinst' "the unknown instance is named"
t_ok "Volcano Engine: wrong secret (3) and unknown instance (4)"
t_pass
