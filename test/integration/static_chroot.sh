#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The static binary (scripts/static.sh) runs in an empty chroot that holds only
# itself, a CA bundle, /etc/hosts and /etc/resolv.conf, as uid 65532, and pulls
# over TLS, by a host name that only the chroot's /etc/hosts knows, from a local
# docker-registry into a directory inside the chroot. skopeo reads the result.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

static=$(ip_static_bin)
file "$static" | grep -q 'statically linked' || t_fail "not a static binary: $(file "$static")"
out=$(ldd "$static" 2>&1 || true)
[[ "$out" == *"not a dynamic executable"* ]] || t_fail "ldd sees a dynamic executable: $out"
t_ok "$(basename "$static"): statically linked, $(stat -c %s "$static") bytes"

name=registry.imgpull.test
T_TLS_SANS="DNS:$name" t_registry_start MAIN --tls
t_make_image "$T_WORK/src" v1 --layer 3M --layer 200K
img=$T_IMG_MANIFEST
t_push "$T_WORK/src" v1 "$REG_MAIN_ADDR" team/app:v1

root="$T_WORK/chroot"
mkdir -p "$root/etc/ssl/certs" "$root/data"
cp "$static" "$root/imgpull"
cp "$REG_MAIN_CA" "$root/etc/ssl/certs/ca-certificates.crt" # the only trust: the test CA
printf '127.0.0.1 %s\n' "$name" >"$root/etc/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$root/etc/resolv.conf"
chown 65532:65532 "$root/data"
[[ -z "$(getent hosts "$name" || true)" ]] || t_fail "$name resolves outside the chroot: the test would prove nothing"
t_ok "chroot holds: $(cd "$root" && find . -type f | sort | tr '\n' ' ')"

ref="$name:$REG_MAIN_PORT/team/app:v1"
t_expect_exit 0 chroot --userspec=65532:65532 "$root" /imgpull version
t_assert_file_contains "$T_OUT" "^imgpull [0-9.]+ \(libcurl [0-9.]+, OpenSSL/3" "version from inside the chroot"
t_expect_exit 0 chroot --userspec=65532:65532 "$root" /imgpull pull --log-format text --progress plain \
  --dest /data/layout "$ref"
[[ "$(stat -c %u "$root/data/layout/index.json")" == 65532 ]] || t_fail "the layout is not owned by uid 65532"
ip_check_layout "$root/data/layout"
ip_skopeo_check "$root/data/layout" "$ref" "$img"

# Without the CA bundle the same pull fails TLS verification: the trust came from it.
mv "$root/etc/ssl/certs/ca-certificates.crt" "$root/ca.crt"
t_expect_exit 5 chroot --userspec=65532:65532 "$root" /imgpull pull --log-format text --retries 0 \
  --dest /data/layout2 "$ref"
t_assert_file_contains "$T_ERR" "certificate|SSL" "TLS verification fails without the bundle"
# SSL_CERT_FILE (set from outside: the chroot has no env binary) is honoured.
t_expect_exit 0 env SSL_CERT_FILE=/ca.crt chroot --userspec=65532:65532 "$root" /imgpull pull --log-format text \
  --dest /data/layout3 "$ref"
ip_skopeo_check "$root/data/layout3" "$ref" "$img"
t_pass
