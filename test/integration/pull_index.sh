#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A multi-platform index: the host's platform by default, --platform picks
# another, digest-pinned references (to the index or to one manifest) are
# verified, Docker schema2 works, and a platform the index lacks is "not found".
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

t_registry_start MAIN
t_make_index "$T_WORK/src" multi linux/amd64 linux/arm64/v8 linux/s390x
index=$T_IMG_INDEX
read -r m_amd64 m_arm64 m_s390x <<<"$T_IMG_PLATFORM_MANIFESTS"
t_push "$T_WORK/src" multi "$REG_MAIN_ADDR" lib/multi:1 --all
base="$REG_MAIN_ADDR/lib/multi"
pull=("$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none)

case $(uname -m) in
x86_64) host_manifest=$m_amd64 ;;
aarch64) host_manifest=$m_arm64 ;;
*) t_fail "no test manifest for $(uname -m)" ;;
esac
t_expect_exit 0 "${pull[@]}" --dest "$T_WORK/o1" "$base:1"
t_assert_eq "$(jq -r '.manifests[0].digest' "$T_WORK/o1/index.json")" "$host_manifest" "default platform is the host's"
ip_check_layout "$T_WORK/o1"
ip_skopeo_check "$T_WORK/o1" "$base:1" "$host_manifest"

t_expect_exit 0 "${pull[@]}" --dest "$T_WORK/o2" --platform linux/arm64 "$base:1"
t_assert_eq "$(jq -r '.manifests[0].digest' "$T_WORK/o2/index.json")" "$m_arm64" "--platform linux/arm64 matches arm64/v8"
t_assert_eq "$(jq -r '.manifests[0].platform.architecture' "$T_WORK/o2/index.json")" arm64 "index entry carries the platform"
t_expect_exit 0 "${pull[@]}" --dest "$T_WORK/o2" --platform linux/s390x "$base@$index"
t_assert_eq "$(jq -r --arg r "$base@$index" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' "$T_WORK/o2/index.json")" \
  "$m_s390x" "index pinned by digest, platform chosen inside it"
t_expect_exit 0 "${pull[@]}" --dest "$T_WORK/o2" "$base@$m_arm64"
t_assert_eq "$(jq '.manifests | length' "$T_WORK/o2/index.json")" 3 "three references recorded"
ip_check_layout "$T_WORK/o2"
ip_containerd_start
ip_ctr_import "$T_WORK/o2" "$base@$m_arm64"

t_expect_exit 4 "${pull[@]}" --dest "$T_WORK/o3" --platform linux/riscv64 "$base:1"
t_assert_file_contains "$T_ERR" 'no manifest for platform linux/riscv64' "missing platform named"
t_assert_file_contains "$T_ERR" 'linux/arm64/v8' "available platforms listed"
t_expect_exit 2 "${pull[@]}" --dest "$T_WORK/o3" --platform linux "$base:1"

# Docker schema2 (skopeo converts on push).
t_make_image "$T_WORK/src2" d2 --layer 2M
t_push "$T_WORK/src2" d2 "$REG_MAIN_ADDR" lib/docker:2 --format v2s2
t_expect_exit 0 "${pull[@]}" --dest "$T_WORK/o4" "$REG_MAIN_ADDR/lib/docker:2"
t_assert_eq "$(jq -r '.manifests[0].mediaType' "$T_WORK/o4/index.json")" \
  application/vnd.docker.distribution.manifest.v2+json "schema2 media type kept"
ip_check_layout "$T_WORK/o4"
want=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG_MAIN_ADDR/lib/docker:2")
t_assert_eq "$(jq -r '.manifests[0].digest' "$T_WORK/o4/index.json")" "$want" "schema2 manifest kept byte for byte"
# skopeo 1.9's layout reader skips index entries with Docker media types, so
# containerd is the independent reader here.
ip_ctr_import "$T_WORK/o4" "$REG_MAIN_ADDR/lib/docker:2"
t_pass
