#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Self-test of test/lib/common.sh using only curl and skopeo (not imgpull):
# registry with htpasswd + 307 redirect to a rate-capped nginx blob store, image and
# index push, blob fetch through the redirect, Range and no-Range behaviour.
set -euo pipefail
source "${IMGPULL_SRC:?set IMGPULL_SRC to the source tree}/test/lib/common.sh"

t_workdir
T0=$SECONDS

# Blob store first (the registry needs its URL), serving the registry's storage root.
STORAGE="$T_WORK/storage"
t_nginx_blobstore_start S3 "$STORAGE" --rate 40m --reject-auth
t_nginx_blobstore_start NORANGE "$STORAGE" --no-range
t_registry_start MAIN --root "$STORAGE" --htpasswd alice:s3cret --redirect "$BLOB_S3_URL"
t_assert_eq "$REG_MAIN_ROOT" "$BLOB_S3_ROOT" "registry and blob store roots"

# Unauthenticated access is refused.
code=$(curl -s -o /dev/null -w '%{http_code}' "$REG_MAIN_URL/v2/")
t_assert_eq "$code" 401 "GET /v2/ without credentials"
code=$(curl -s -o /dev/null -w '%{http_code}' -u alice:s3cret "$REG_MAIN_URL/v2/")
t_assert_eq "$code" 200 "GET /v2/ with credentials"
t_ok "htpasswd auth"

# A 2-layer image and a 2-platform index.
t_make_image "$T_WORK/oci" v1 --layer 3M --layer 300K --platform linux/amd64
IMG_MANIFEST=$T_IMG_MANIFEST
read -r -a LAYERS <<<"$T_IMG_LAYERS"
read -r -a LSIZES <<<"$T_IMG_LAYER_SIZES"
t_assert_eq "${#LAYERS[@]}" 2 "layer count"
for l in "${LAYERS[@]}"; do
  t_assert_eq "$(t_sha256 "$T_WORK/oci/blobs/sha256/${l#sha256:}")" "$l" "layer blob digest"
done
gzip -t "$T_WORK/oci/blobs/sha256/${LAYERS[0]#sha256:}" || t_fail "layer 0 is not valid gzip"
diff0=$(gzip -dc "$T_WORK/oci/blobs/sha256/${LAYERS[0]#sha256:}" | sha256sum | cut -d' ' -f1)
t_assert_eq "sha256:$diff0" "${T_IMG_DIFF_IDS%% *}" "diff_id of layer 0"
t_make_index "$T_WORK/oci" multi linux/amd64 linux/arm64/v8
IDX=$T_IMG_INDEX
t_ok "image layout generated"

t_push "$T_WORK/oci" v1 "$REG_MAIN_ADDR" test/img:v1
t_push "$T_WORK/oci" multi "$REG_MAIN_ADDR" test/multi:latest --all

# skopeo sees both, with the digests we generated.
t_inspect "$REG_MAIN_ADDR" test/img:v1 >"$T_WORK/inspect.json" || t_fail "skopeo inspect test/img:v1"
t_assert_eq "$(jq -r .Digest "$T_WORK/inspect.json")" "$IMG_MANIFEST" "pushed manifest digest"
t_assert_eq "$(jq -r '.Layers | length' "$T_WORK/inspect.json")" 2 "pushed layer count"
t_inspect "$REG_MAIN_ADDR" test/multi:latest --raw >"$T_WORK/index.json" || t_fail "skopeo inspect --raw multi"
t_assert_eq "$(t_sha256 "$T_WORK/index.json")" "$IDX" "pushed index digest"
t_assert_eq "$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)\(if .variant then "/"+.variant else "" end)"] | join(",")' \
  "$T_WORK/index.json")" "linux/amd64,linux/arm64/v8" "index platforms"
if t_inspect "$REG_MAIN_ADDR" test/img:v1 --no-creds >/dev/null 2>&1; then
  t_fail "skopeo inspect without credentials should fail"
fi
t_ok "push and inspect (image + index)"

# Blob GET through the registry: 307 to the blob store, which must not see Authorization.
L0=${LAYERS[0]}
curl -sS -u alice:s3cret -o /dev/null -D "$T_WORK/h307" "$REG_MAIN_URL/v2/test/img/blobs/$L0"
t_assert_match "$(head -n1 "$T_WORK/h307")" "^HTTP/1.1 307" "blob GET status from the registry"
loc=$(awk 'tolower($1)=="location:" {print $2}' "$T_WORK/h307" | tr -d '\r')
t_assert_eq "$loc" "$BLOB_S3_URL$(t_blob_urlpath "$L0")" "redirect Location"
: >"$BLOB_S3_LOG"
curl -sS -f -L -u alice:s3cret -o "$T_WORK/blob0" "$REG_MAIN_URL/v2/test/img/blobs/$L0" ||
  t_fail "curl -L of the blob failed (blob store log: $(tail -n 3 "$BLOB_S3_LOG"))"
t_assert_eq "$(t_sha256 "$T_WORK/blob0")" "$L0" "sha256 of the blob fetched through the redirect"
t_assert_eq "$(stat -c %s "$T_WORK/blob0")" "${LSIZES[0]}" "size of the fetched blob"
t_assert_file_contains "$BLOB_S3_LOG" "\"GET $(t_blob_urlpath "$L0") HTTP/1.1\" 200 ${LSIZES[0]} range=\"-\" auth=\"-\"" \
  "blob store log of the redirected GET (no Range, no Authorization)"
t_assert_file_lacks "$BLOB_S3_LOG" 'auth="Basic' "Authorization forwarded to the blob store"
# libcurl keeps Authorization across hosts only when told to; the store then refuses (400).
code=$(curl -s -o /dev/null -w '%{http_code}' -L --location-trusted -u alice:s3cret \
  "$REG_MAIN_URL/v2/test/img/blobs/$L0")
t_assert_eq "$code" 400 "blob store with --reject-auth given Authorization"
t_assert_file_contains "$BLOB_S3_LOG" '" 400 [0-9]+ range="-" auth="Basic ' "logged Authorization"
t_ok "redirected blob GET: digest ok, no Authorization at the blob store"

# Range on the store: 206 with exactly 100 bytes, and they are the first 100 of the blob.
BPATH=$(t_blob_urlpath "$L0")
code=$(curl -sS -o "$T_WORK/r100" -w '%{http_code}' -H 'Range: bytes=0-99' "$BLOB_S3_URL$BPATH")
t_assert_eq "$code" 206 "Range request status"
t_assert_eq "$(stat -c %s "$T_WORK/r100")" 100 "Range response length"
cmp -s "$T_WORK/r100" <(head -c 100 "$T_WORK/blob0") || t_fail "Range bytes differ from the blob"
code=$(curl -sS -o "$T_WORK/rmid" -w '%{http_code}' -H 'Range: bytes=1000000-1999999' "$BLOB_S3_URL$BPATH")
t_assert_eq "$code" 206 "mid Range status"
cmp -s "$T_WORK/rmid" <(tail -c +1000001 "$T_WORK/blob0" | head -c 1000000) || t_fail "mid Range bytes differ"
t_assert_file_contains "$BLOB_S3_LOG" '" 206 100 range="bytes=0-99"' "Range logged"
t_ok "Range: 206 + 100 bytes"

# --no-range: the Range header is ignored, 200 with the whole body.
code=$(curl -sS -o "$T_WORK/nr" -w '%{http_code}' -H 'Range: bytes=0-99' "$BLOB_NORANGE_URL$BPATH")
t_assert_eq "$code" 200 "--no-range status"
t_assert_eq "$(t_sha256 "$T_WORK/nr")" "$L0" "--no-range body"
t_ok "no-range: 200 + full body"

# Rate cap: 3 MiB at 40 MiB/s takes >= ~50 ms on one connection; on loopback it would be ~1 ms.
t=$(curl -sS -o /dev/null -w '%{time_total}' "$BLOB_S3_URL$BPATH")
awk -v t="$t" 'BEGIN { exit !(t >= 0.04) }' || t_fail "rate cap not effective: 3 MiB in $t s"
t_ok "rate cap (3 MiB in $t s)"

# A TLS registry without auth: push + inspect with the generated CA.
t_registry_start TLS --tls
[[ -f "$REG_TLS_CA" ]] || t_fail "REG_TLS_CA missing"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$REG_TLS_CA" "https://localhost:$REG_TLS_PORT/v2/")
t_assert_eq "$code" 200 "TLS /v2/ via localhost name"
t_push "$T_WORK/oci" v1 "$REG_TLS_ADDR" tls/img:v1
t_assert_eq "$(t_inspect "$REG_TLS_ADDR" tls/img:v1 | jq -r .Digest)" "$IMG_MANIFEST" "TLS push digest"
t_ok "TLS registry"

# t_expect_exit
t_expect_exit 3 bash -c 'echo out; echo err >&2; exit 3'
t_assert_eq "$(cat "$T_ERR")" err "t_expect_exit stderr capture"
t_assert_eq "$(cat "$T_OUT")" out "t_expect_exit stdout capture"
if (t_expect_exit 0 false) 2>/dev/null; then t_fail "t_expect_exit did not fail on a wrong status"; fi

# Stopping works: the blob store's process group goes away.
t_stop "$BLOB_NORANGE_PID"
kill -0 "$BLOB_NORANGE_PID" 2>/dev/null && t_fail "nginx NORANGE still running"
t_ok "t_stop"

ELAPSED=$((SECONDS - T0))
((ELAPSED < 60)) || t_fail "took $ELAPSED s (limit 60)"
t_pass "in $ELAPSED s"
