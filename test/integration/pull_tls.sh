#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TLS is verified by default; --ca-file adds a private CA to the system's trust
# (SSL_CERT_FILE here), it does not replace it: one run pulls from a registry of
# each; a registry signed by neither still fails; a --ca-file with no certificate
# or that cannot be read is a usage error. --connect-to pulls an image named after
# a real registry host from a local one, as curl would.
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

# Two more registries, each with a CA of its own (t_make_ca): SYS's CA is the
# process's system store (SSL_CERT_FILE, imgpull's own lookup), SEC's is given
# with --ca-file. One run pulls from both: the blocking requests (manifests) and
# the engine's (blobs) trust the union.
t_registry_start SYS --tls
t_registry_start NONE --tls
t_make_image "$T_WORK/src2" v1 --layer 2M --seed 5
img2=$T_IMG_MANIFEST
t_push "$T_WORK/src2" v1 "$REG_SYS_ADDR" team/sys:v1
t_push "$T_WORK/src2" v1 "$REG_NONE_ADDR" team/none:v1
t_expect_exit 0 env SSL_CERT_FILE="$REG_SYS_CA" "$IMGPULL" pull --dest "$T_WORK/o4" --progress none \
  --retries 0 "$REG_SYS_ADDR/team/sys:v1"
t_expect_exit 0 env SSL_CERT_FILE="$REG_SYS_CA" "$IMGPULL" pull --dest "$T_WORK/o5" --creds carol:tls-pass \
  --ca-file "$REG_SEC_CA" --progress none --retries 0 \
  "$REG_SEC_ADDR/vision/detector:v1" "$REG_SYS_ADDR/team/sys:v1"
ip_check_layout "$T_WORK/o5"
ip_skopeo_check "$T_WORK/o5" "$REG_SEC_ADDR/vision/detector:v1" "$img"
ip_skopeo_check "$T_WORK/o5" "$REG_SYS_ADDR/team/sys:v1" "$img2"
t_ok "--ca-file adds to the system's CA bundle"

# Signed by neither CA: a verification failure, exit 5.
t_expect_exit 5 env SSL_CERT_FILE="$REG_SYS_CA" "$IMGPULL" pull --dest "$T_WORK/o6" --ca-file "$REG_SEC_CA" \
  --progress none "$REG_NONE_ADDR/team/none:v1"
t_assert_file_contains "$T_ERR" "$REG_NONE_ADDR.*certificate" "the error names the host and the certificate problem"

# A --ca-file that holds no certificate, or cannot be read: exit 2 before any request.
printf 'not a certificate\n' >"$T_WORK/empty.pem"
: >"$T_WORK/zero.pem"
openssl ecparam -name prime256v1 -genkey -noout -out "$T_WORK/key-only.pem" 2>/dev/null
sed '2s/./#/' "$REG_SEC_CA" >"$T_WORK/broken.pem"
for f in "$T_WORK/empty.pem" "$T_WORK/zero.pem" "$T_WORK/key-only.pem" "$T_WORK/broken.pem" "$T_WORK/missing.pem" "$T_WORK"; do
  t_expect_exit 2 "$IMGPULL" pull --dest "$T_WORK/o7" --ca-file "$f" --progress none "$REG_SEC_ADDR/vision/detector:v1"
  t_assert_file_contains "$T_ERR" "^imgpull: error: .*'$f'" "the error names $f"
  [[ $(grep -c . "$T_ERR") -eq 1 ]] || t_fail "expected one error line for $f: $(cat "$T_ERR")"
done
[[ ! -e "$T_WORK/o7" ]] || t_fail "a bad --ca-file left a layout behind"
t_pass
