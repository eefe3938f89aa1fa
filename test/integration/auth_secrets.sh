#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Mounted pull secrets against the real docker-registry with htpasswd: a
# kubelet-style secret directory (..data symlinks, extra non-JSON keys), the
# three formats, IMGPULL_SECRET, most specific key wins, artifactTypes, one-line
# errors that name the file and entry but never the value, the anonymous
# fallback's message, and `imgpull auth`.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
source "$IMGPULL_SRC/test/lib/secrets.sh"
t_workdir

t_registry_start REG --htpasswd alice:Al1ce-s3cret
t_make_image "$T_WORK/src" v1 --layer 1M --layer 3M
img=$T_IMG_MANIFEST
t_push "$T_WORK/src" v1 "$REG_REG_ADDR" team/app:v1
A=$REG_REG_ADDR
pull() { "$IMGPULL" pull --plain-http "$A" --progress none "$@"; }
good_b64=$(t_b64 alice:Al1ce-s3cret)

# 1. A kubelet-mounted kubernetes.io/dockerconfigjson secret, with another key beside it.
t_dockerconfigjson "$A=alice:Al1ce-s3cret" "other.example.com=bob:nope" >"$T_WORK/dcj.json"
printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' >"$T_WORK/ca.crt"
t_secret_dir "$T_WORK/mnt/regcred" .dockerconfigjson "$T_WORK/dcj.json" ca.crt "$T_WORK/ca.crt"
t_expect_exit 0 pull --dest "$T_WORK/o1" --secret "$T_WORK/mnt/regcred" "$A/team/app:v1"
ip_check_layout "$T_WORK/o1"
ip_skopeo_check "$T_WORK/o1" "$A/team/app:v1" "$img"
t_ok "dockerconfigjson in a kubelet-style secret directory"

# imgpull auth names the file and the entry, never the value.
t_expect_exit 0 "$IMGPULL" auth --plain-http "$A" --secret "$T_WORK/mnt/regcred" "$A/team/app:v1"
t_assert_file_contains "$T_OUT" "credential +$T_WORK/mnt/regcred/.dockerconfigjson entry '$A'" "auth shows the entry"
t_assert_file_contains "$T_OUT" 'kind +generic' "auth shows the kind"
t_assert_file_contains "$T_OUT" 'scheme +basic' "auth shows the scheme"
t_assert_file_contains "$T_OUT" 'manifest +ok' "auth checked the manifest"
t_assert_file_lacks "$T_OUT" "Al1ce-s3cret|$good_b64" "auth prints no secret"

# 2. Through IMGPULL_SECRET, in the legacy .dockercfg format (a map without "auths").
jq -n --arg h "http://$A" --arg a "$good_b64" '{($h): {auth: $a, email: "a@example.com"}}' >"$T_WORK/dockercfg"
t_expect_exit 0 env IMGPULL_SECRET="$T_WORK/dockercfg" "$IMGPULL" pull --plain-http "$A" --progress none \
  --dest "$T_WORK/o2" "$A/team/app:v1"
t_ok "legacy .dockercfg through IMGPULL_SECRET"

# 3. The registry credential list: CONTAINER entries serve image pulls, HELM-only
# entries do not (they serve charts), and the error names the HELM-only entry.
jq -n --arg h "$A" --arg v "$good_b64" '{registryCredentials: [
    {registryHostname: $h, secret: {name: "helm-only", value: $v}, artifactTypes: ["HELM"]}]}' >"$T_WORK/rc-helm.json"
t_expect_exit 3 pull --dest "$T_WORK/o3" --secret "$T_WORK/rc-helm.json" "$A/team/app:v1"
t_assert_eq "$(wc -l <"$T_ERR")" 1 "HELM-only: one line"
t_assert_file_contains "$T_ERR" \
  "no registry credential for images found for hostname $A \\($T_WORK/rc-helm.json entry '$A' serves HELM only\\)" \
  "a HELM-only entry does not serve image pulls, and the error says why"
t_assert_file_lacks "$T_ERR" "Al1ce-s3cret|$good_b64" "HELM-only: no value in the message"
jq -n --arg h "$A" --arg v "$good_b64" '{registryCredentials: [
    {registryHostname: $h, secret: {name: "pull", value: $v}, artifactTypes: ["CONTAINER"]}]}' >"$T_WORK/rc-container.json"
t_expect_exit 0 pull --dest "$T_WORK/o3c" --secret "$T_WORK/rc-container.json" "$A/team/app:v1"
ip_check_layout "$T_WORK/o3c"
jq -n --arg h "$A" --arg v "$good_b64" '{registryCredentials: [
    {registryHostname: $h, secret: {name: "pull", value: $v}, artifactTypes: ["CONTAINER", "HELM"], description: "team"}]}' >"$T_WORK/rc.json"
t_expect_exit 0 pull --dest "$T_WORK/o3" --secret "$T_WORK/rc.json" "$A/team/app:v1"
t_ok "registryCredentials: HELM-only does not serve images (exit 3, named), CONTAINER does"

# 4. The most specific key wins across two secrets: host/team beats host.
t_dockerconfigjson "$A=alice:wrong-password" >"$T_WORK/broad.json"
t_dockerconfigjson "$A/team=alice:Al1ce-s3cret" >"$T_WORK/narrow.json"
t_expect_exit 0 pull --dest "$T_WORK/o4" --secret "$T_WORK/broad.json" --secret "$T_WORK/narrow.json" "$A/team/app:v1"
t_expect_exit 3 pull --dest "$T_WORK/o4" --secret "$T_WORK/broad.json" "$A/team/app:v1"
t_assert_file_contains "$T_ERR" "rejected the credential from $T_WORK/broad.json entry '$A'" "the rejected entry is named"
t_assert_file_lacks "$T_ERR" 'wrong-password' "the message does not quote the password"
t_ok "most specific key wins; a rejected credential names its file and entry"

# 5. Malformed secrets: one line, exit 3, file and entry named, value never shown.
jq -n --arg h "$A" '{auths: {($h): {auth: "bm90LWJhc2U2NA=="}}}' >"$T_WORK/notpair.json"   # "not-base64": no ':'
jq -n --arg h "$A" '{auths: {($h): {auth: "%%%Zm9v"}}}' >"$T_WORK/badb64.json"
jq -n --arg v "$good_b64" '{registryCredentials: [{registryHostname: "reg.example.com/team", secret: {name: "x", value: $v}}]}' >"$T_WORK/path.json"
printf '{"auths": {' >"$T_WORK/broken.json"
for f in notpair badb64 path broken; do
  t_expect_exit 3 pull --dest "$T_WORK/o5" --secret "$T_WORK/$f.json" "$A/team/app:v1"
  t_assert_eq "$(wc -l <"$T_ERR")" 1 "$f: one line"
  t_assert_file_contains "$T_ERR" "$T_WORK/$f.json" "$f: the file is named"
  t_assert_file_lacks "$T_ERR" "Al1ce-s3cret|$good_b64|bm90LWJhc2U2NA|Zm9v" "$f: no value in the message"
done
t_expect_exit 3 pull --dest "$T_WORK/o5" --secret "$T_WORK/no-such-secret" "$A/team/app:v1"
t_ok "malformed secrets fail with one line naming the file"

# 6. No matching credential: anonymous, and the 401 says which host lacked one.
t_dockerconfigjson "elsewhere.example.com=alice:Al1ce-s3cret" >"$T_WORK/elsewhere.json"
t_expect_exit 3 pull --dest "$T_WORK/o6" --secret "$T_WORK/elsewhere.json" "$A/team/app:v1"
t_assert_file_contains "$T_ERR" "no registry credential found for hostname $A" "anonymous fallback explained"
t_expect_exit 3 "$IMGPULL" auth --plain-http "$A" --secret "$T_WORK/elsewhere.json" "$A/team/app:v1"
t_assert_file_contains "$T_OUT" 'credential +none matched' "auth says nothing matched"
t_ok "no matching credential: anonymous attempt, clear message"

# 7. A registry allowlisted through the NVCF environment is "custom": it needs no
# credential, and one that matches is still used.
export NVCF_REGISTRIES_RECOGNIZED_CONTAINER_TEAMREG_HOSTNAME=$A NVCF_REGISTRIES_RECOGNIZED_CONTAINER_TEAMREG_NAME="Team registry"
t_expect_exit 0 "$IMGPULL" auth --plain-http "$A" --secret "$T_WORK/mnt/regcred" "$A/team/app:v1"
t_assert_file_contains "$T_OUT" 'kind +custom \(from NVCF_REGISTRIES_RECOGNIZED_CONTAINER_TEAMREG_HOSTNAME, Team registry\)' "allowlisted host is custom"
t_expect_exit 0 pull --dest "$T_WORK/o7" --secret "$T_WORK/mnt/regcred" "$A/team/app:v1"
unset NVCF_REGISTRIES_RECOGNIZED_CONTAINER_TEAMREG_HOSTNAME NVCF_REGISTRIES_RECOGNIZED_CONTAINER_TEAMREG_NAME
t_ok "NVCF allowlisted registry recognised as custom"
t_pass
