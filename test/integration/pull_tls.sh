#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TLS is verified by default; --ca-file adds a private CA; --connect-to pulls an
# image named after a real registry host from a local one, as curl would.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

export T_TLS_SANS="DNS:registry.example.com,DNS:123456789012.dkr.ecr.us-west-2.amazonaws.com"
t_registry_start SEC --tls --htpasswd carol:tls-pass
t_make_image "$T_WORK/src" v1 --layer 1M --layer 20M
img=$T_IMG_MANIFEST
t_push "$T_WORK/src" v1 "$REG_SEC_ADDR" vision/detector:v1

# Unknown CA: a verification failure is a network error, not a silent downgrade.
t_expect_exit 5 "$IMGPULL" pull --dest "$T_WORK/o1" --creds carol:tls-pass --progress none \
  "$REG_SEC_ADDR/vision/detector:v1"
t_assert_file_contains "$T_ERR" 'certificate' "the error names the certificate problem"

t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/o1" --creds carol:tls-pass --ca-file "$REG_SEC_CA" \
  --chunk-size 4M --progress none "$REG_SEC_ADDR/vision/detector:v1"
ip_check_layout "$T_WORK/o1"
ip_skopeo_check "$T_WORK/o1" "$REG_SEC_ADDR/vision/detector:v1" "$img"

# Named after other hosts, served by the local registry (the ECR name is forced
# to a plain registry: its own kind would ask the ECR API for a token).
for host in registry.example.com 123456789012.dkr.ecr.us-west-2.amazonaws.com; do
  t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/o2" --creds carol:tls-pass --ca-file "$REG_SEC_CA" \
    --registry-kind "$host=generic" \
    --connect-to "$host:443:127.0.0.1:$REG_SEC_PORT" --progress none "$host/vision/detector:v1"
  t_assert_eq "$(jq -r --arg r "$host/vision/detector:v1" \
    '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' "$T_WORK/o2/index.json")" \
    "$img" "$host reached through --connect-to"
done
ip_check_layout "$T_WORK/o2"

# A name the certificate does not cover fails verification.
t_expect_exit 5 "$IMGPULL" pull --dest "$T_WORK/o3" --creds carol:tls-pass --ca-file "$REG_SEC_CA" \
  --connect-to "other.example.org:443:127.0.0.1:$REG_SEC_PORT" --progress none --retries 0 \
  "other.example.org/vision/detector:v1"
t_expect_exit 2 "$IMGPULL" pull --dest "$T_WORK/o3" --connect-to "nonsense" "x/y:1"
t_pass
