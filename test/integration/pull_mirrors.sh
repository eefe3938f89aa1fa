#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# --hosts-dir: containerd's hosts.toml read as containerd reads it. A
# docker-registry pull-through cache (proxy mode) in front of an authenticated
# upstream: the second node's pull costs the upstream no blob GET. Mirrors as
# Spegel's (only some blobs, 404 for the rest), one that resets every
# connection, one serving a corrupted blob, one that is down: the pull
# completes, every blob verified, the JSON log naming the host each blob came
# from and the summary the bytes by host. capabilities = ["pull"] mirrors are
# never asked for a tag; a mirror gets its own host's credential only.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/token.sh"
t_workdir

# The upstream: Bearer tokens for up:s3cret (distribution's proxy mode speaks
# to token-authenticated upstreams only).
t_token_registry_start UP --user up:s3cret
up=$REG_UP_ADDR
t_make_image "$T_WORK/src" v1 --layer 3M --layer 1M --layer 300K --seed 3
layers=($T_IMG_LAYERS)
config=$T_IMG_CONFIG
t_push "$T_WORK/src" v1 "$up" team/app:v1 --creds pusher:pushpw
b64=$(printf 'up:s3cret' | base64 -w0)
jq -n --arg h "$up" --arg v "$b64" \
  '{registryCredentials: [{registryHostname: $h, secret: {name: "up", value: $v}}]}' >"$T_WORK/secret.json"
acc=(--plain-http "$up" --secret "$T_WORK/secret.json" --progress json)
blob_gets() { grep -c "\"GET /v2/team/app/blobs/sha256:$1" "$REG_UP_LOG" || true; }
all_blob_gets() { grep -c '"GET /v2/team/app/blobs/sha256:' "$REG_UP_LOG" || true; }

# 1. A pull-through cache: anonymous to the nodes, the upstream's credential
# in its own configuration.
t_registry_start CACHE --proxy "http://$up" --proxy-creds up:s3cret
mkdir -p "$T_WORK/hosts/$up"
cat >"$T_WORK/hosts/$up/hosts.toml" <<EOF
server = "http://$up"

[host."http://$REG_CACHE_ADDR"]
  capabilities = ["pull", "resolve"]
EOF
before=$(all_blob_gets)
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/node1" --hosts-dir "$T_WORK/hosts" "${acc[@]}" "$up/team/app:v1"
first=$(($(all_blob_gets) - before))
jq -e -s --arg c "$REG_CACHE_ADDR" '[.[] | select(.event == "blob_done")] | length == 4 and all(.host == $c)' \
  "$T_OUT" >/dev/null || t_fail "node 1's blobs did not all come from the cache: $(grep blob_done "$T_OUT")"
for d in "${layers[@]}" "$config"; do
  n=$(blob_gets "${d#sha256:}")
  ((n >= 1)) || t_fail "the cache never asked the upstream for $d"
done
t_log "node 1: the cache fetched $first blob GETs from the upstream for 4 blobs"
mid=$(all_blob_gets)
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/node2" --hosts-dir "$T_WORK/hosts" "${acc[@]}" "$up/team/app:v1"
t_assert_eq "$(($(all_blob_gets) - mid))" 0 "node 2's blob GETs at the upstream"
jq -e -s --arg c "$REG_CACHE_ADDR" '.[] | select(.event == "summary") | .bytes_by_host[$c] > 4000000' "$T_OUT" \
  >/dev/null || t_fail "the summary has no bytes by host for the cache: $(grep summary "$T_OUT")"
diff -r "$T_WORK/node1/blobs" "$T_WORK/node2/blobs" >/dev/null || t_fail "the two nodes' blobs differ"
t_ok "a pull-through cache: node 1 filled it ($first upstream blob GETs), node 2 cost the upstream none"

# 2. Mirrors that fail each in its own way, before the registry: one that is
# down, one that resets every connection, one that serves a corrupted blob, one
# (Spegel-like) that has some blobs and answers 404 for the rest.
mkdir -p "$T_WORK/spegel/v2/team/app/blobs" "$T_WORK/corrupt/v2/team/app/blobs"
# GET /v2/ answers 200, as a registry's API root does (Spegel's too).
echo '{}' >"$T_WORK/spegel/v2/index.html"
echo '{}' >"$T_WORK/corrupt/v2/index.html"
cp "$(t_blob_path "$REG_UP_ROOT" "${layers[0]}")" "$T_WORK/spegel/v2/team/app/blobs/${layers[0]}"
cp "$(t_blob_path "$REG_UP_ROOT" "${layers[2]}")" "$T_WORK/spegel/v2/team/app/blobs/${layers[2]}"
cp "$(t_blob_path "$REG_UP_ROOT" "${layers[1]}")" "$T_WORK/corrupt/v2/team/app/blobs/${layers[1]}"
printf 'X' | dd of="$T_WORK/corrupt/v2/team/app/blobs/${layers[1]}" bs=1 seek=5000 conv=notrunc status=none
t_nginx_blobstore_start SPEGEL "$T_WORK/spegel"
t_nginx_blobstore_start CORRUPT "$T_WORK/corrupt"
mkdir -p "$T_WORK/nginx-reset"
_t_nginx_run "reset" "$T_WORK/nginx-reset" "" 1 64 "closes every connection" "
  server {
    listen 127.0.0.1:@PORT@;
    location / { return 444; }
  }"
reset="127.0.0.1:$_T_SERVE_PORT"
down="127.0.0.1:$(t_free_port)"
mkdir -p "$T_WORK/hosts2/$up"
cat >"$T_WORK/hosts2/$up/hosts.toml" <<EOF
server = "http://$up"

[host."http://$down"]
  capabilities = ["pull"]
[host."http://$reset"]
  capabilities = ["pull"]
[host."http://$BLOB_CORRUPT_ADDR"]
  capabilities = ["pull"]
[host."http://$BLOB_SPEGEL_ADDR"]
  capabilities = ["pull"]
EOF
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/node3" --hosts-dir "$T_WORK/hosts2" "${acc[@]}" "$up/team/app:v1"
host_of() { jq -r -s --arg d "$1" '.[] | select(.event == "blob_done" and .digest == $d) | .host' "$T_OUT"; }
t_assert_eq "$(host_of "${layers[0]}")" "$BLOB_SPEGEL_ADDR" "layer 0 from the Spegel-like mirror"
t_assert_eq "$(host_of "${layers[2]}")" "$BLOB_SPEGEL_ADDR" "layer 2 from the Spegel-like mirror"
t_assert_eq "$(host_of "${layers[1]}")" "$up" "layer 1 (corrupted on a mirror, absent on the other) from the registry"
t_assert_eq "$(host_of "$config")" "$up" "the config from the registry"
t_assert_file_contains "$T_ERR" "its bytes have digest" "the corrupted blob caught by its digest"
"$IMGPULL" verify --dest "$T_WORK/node3" >/dev/null || t_fail "node 3's layout does not verify"
# Mirrors with capabilities pull are never asked for a tag.
! grep -q 'manifests/v1' "$BLOB_SPEGEL_LOG" || t_fail "a pull-only mirror was asked for a tag"
ns=${up/:/%3A} # as containerd (Go's url.Values) encodes it
grep -q "GET /v2/team/app/blobs/${layers[0]}?ns=$ns " "$BLOB_SPEGEL_LOG" ||
  t_fail "the mirror was not asked with ?ns= as containerd asks: $(cat "$BLOB_SPEGEL_LOG")"
# The upstream's credential goes to the upstream only.
! grep -q 'auth="Basic' "$BLOB_SPEGEL_LOG" "$BLOB_CORRUPT_LOG" || t_fail "a mirror got the upstream's credential"
t_ok "down, resetting, corrupting and partial mirrors: every blob verified, each from the host the log names"

# 3. A mirror by digest: a pull of the image by digest asks the pull-only
# mirror for the manifest first (it has none: 404), then the registry.
digest=$(jq -r '.manifests[0].digest' "$T_WORK/node3/index.json")
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/node4" --hosts-dir "$T_WORK/hosts2" "${acc[@]}" "$up/team/app@$digest"
grep -q "GET /v2/team/app/manifests/$digest?ns=$ns " "$BLOB_SPEGEL_LOG" ||
  t_fail "the pull-only mirror was not asked for the manifest by digest"
t_ok "by digest: mirrors are asked for the manifest too"

# 4. A mirror that ignores Range: ranges are asked of it too (--chunk-size
# 512K), and its whole answer becomes one stream for that blob.
mkdir -p "$T_WORK/norange/v2/team/app/blobs"
echo '{}' >"$T_WORK/norange/v2/index.html"
for d in "${layers[@]}" "$config"; do
  cp "$(t_blob_path "$REG_UP_ROOT" "$d")" "$T_WORK/norange/v2/team/app/blobs/$d"
done
t_nginx_blobstore_start NORANGE "$T_WORK/norange" --no-range
mkdir -p "$T_WORK/hosts4/$up"
printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull"]\n' "$up" "$BLOB_NORANGE_ADDR" \
  >"$T_WORK/hosts4/$up/hosts.toml"
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/node6" --hosts-dir "$T_WORK/hosts4" --chunk-size 512K "${acc[@]}" \
  "$up/team/app:v1"
jq -e -s --arg c "$BLOB_NORANGE_ADDR" '[.[] | select(.event == "blob_done")] | length == 4 and all(.host == $c)' \
  "$T_OUT" >/dev/null || t_fail "not every blob came from the mirror: $(grep blob_done "$T_OUT")"
grep -q "blobs/${layers[0]}.* 200 .* range=\"bytes=0-524287\"" "$BLOB_NORANGE_LOG" ||
  t_fail "the mirror was not asked for a range: $(cat "$BLOB_NORANGE_LOG")"
t_assert_eq "$(grep -c "blobs/${layers[0]}" "$BLOB_NORANGE_LOG")" 1 "requests for the 3 MiB layer (one stream)"
t_ok "a mirror that ignores Range: one stream per blob"

# 5. A cache of its own over TLS and with a password: its CA (ca) and its own
# credential (the secret names the mirror) let it serve the pull; without the
# ca line TLS fails there and the registry serves the blobs instead; with
# skip_verify it serves them unverified; a secret that does not name it sends
# it nothing (401: the registry again).
t_registry_start SEC --tls --htpasswd mirror:m1rr0r --proxy "http://$up" --proxy-creds up:s3cret
mkdir -p "$T_WORK/hosts5/$up" "$T_WORK/hosts6/$up" "$T_WORK/hosts7/$up"
printf 'server = "http://%s"\n[host."https://%s"]\n  ca = "%s"\n' "$up" "$REG_SEC_ADDR" "$REG_SEC_CA" \
  >"$T_WORK/hosts5/$up/hosts.toml"
printf 'server = "http://%s"\n[host."https://%s"]\n' "$up" "$REG_SEC_ADDR" >"$T_WORK/hosts6/$up/hosts.toml"
printf 'server = "http://%s"\n[host."https://%s"]\n  skip_verify = true\n' "$up" "$REG_SEC_ADDR" \
  >"$T_WORK/hosts7/$up/hosts.toml"
mb64=$(printf 'mirror:m1rr0r' | base64 -w0)
jq -n --arg h "$up" --arg v "$b64" --arg m "$REG_SEC_ADDR" --arg mv "$mb64" \
  '{registryCredentials: [{registryHostname: $h, secret: {name: "up", value: $v}},
                          {registryHostname: $m, secret: {name: "mirror", value: $mv}}]}' >"$T_WORK/secret2.json"
acc2=(--plain-http "$up" --secret "$T_WORK/secret2.json" --progress json)
from_all() { jq -e -s --arg c "$1" '[.[] | select(.event == "blob_done")] | length == 4 and all(.host == $c)' "$T_OUT" \
  >/dev/null; }
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/node7" --hosts-dir "$T_WORK/hosts5" "${acc2[@]}" "$up/team/app:v1"
from_all "$REG_SEC_ADDR" || t_fail "ca: not every blob came from the TLS mirror: $(grep blob_done "$T_OUT")"
grep -q '"GET /v2/team/app/blobs/' "$REG_SEC_LOG" || t_fail "the TLS mirror served no blob"
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/node8" --hosts-dir "$T_WORK/hosts6" "${acc2[@]}" "$up/team/app:v1"
from_all "$up" || t_fail "without ca: the blobs did not come from the registry: $(grep blob_done "$T_OUT")"
t_assert_file_contains "$T_ERR" "$REG_SEC_ADDR" "the TLS failure at the mirror is logged"
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/node9" --hosts-dir "$T_WORK/hosts7" "${acc2[@]}" "$up/team/app:v1"
from_all "$REG_SEC_ADDR" || t_fail "skip_verify: not every blob came from the mirror"
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/node10" --hosts-dir "$T_WORK/hosts5" "${acc[@]}" "$up/team/app:v1"
from_all "$up" || t_fail "a mirror the secret does not name served blobs: $(grep blob_done "$T_OUT")"
t_ok "a TLS mirror with a password: ca, skip_verify and its own credential used; without them, the registry"

# 6. A hosts.toml that containerd would not read: exit 2 naming the file.
mkdir -p "$T_WORK/hosts3/$up"
printf 'server = "http://%s"\n[host."http://x"\n' "$up" >"$T_WORK/hosts3/$up/hosts.toml"
t_expect_exit 2 "$IMGPULL" pull --dest "$T_WORK/node5" --hosts-dir "$T_WORK/hosts3" "${acc[@]}" "$up/team/app:v1"
t_assert_file_contains "$T_ERR" "hosts.toml" "the file named"
t_ok "a malformed hosts.toml: exit 2"
t_pass
