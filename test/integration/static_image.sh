#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The container image from scripts/image.sh: two static builds of one commit
# give one binary and two assemblies one manifest digest; pushed to a local registry with skopeo, pulled back by imgpull itself,
# its layer extracted with tar, the binary in it prints `imgpull version`; its
# config runs /imgpull as uid 65532.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

static=$(ip_static_bin)
d1=$("$IMGPULL_SRC/scripts/image.sh" --binary "$static" --out "$T_WORK/oci1" --tag test 2>"$T_WORK/image1.log") ||
  t_fail "scripts/image.sh failed: $(cat "$T_WORK/image1.log")"
d2=$("$IMGPULL_SRC/scripts/image.sh" --binary "$static" --out "$T_WORK/oci2" --tag test 2>"$T_WORK/image2.log") ||
  t_fail "scripts/image.sh failed again: $(cat "$T_WORK/image2.log")"
t_assert_match "$d1" '^sha256:[0-9a-f]{64}$' "image.sh prints the manifest digest"
t_assert_eq "$d2" "$d1" "two assemblies of one binary give one manifest digest"
diff -r "$T_WORK/oci1" "$T_WORK/oci2" >/dev/null || t_fail "the two layouts differ"
# A second static build of the same commit, in another directory (the cached
# dependencies are shared), gives the same binary, and so the same image.
if [[ "$static" == "$IMGPULL_SRC/build-static/imgpull" ]]; then
  IMGPULL_STATIC_BUILD="$T_WORK/static2" "$IMGPULL_SRC/scripts/static.sh" >"$T_WORK/static2.log" 2>&1 ||
    t_fail "second static build failed: $(tail -20 "$T_WORK/static2.log")"
  cmp "$T_WORK/static2/imgpull" "$static" || t_fail "two static builds of one commit differ"
  d3=$("$IMGPULL_SRC/scripts/image.sh" --binary "$T_WORK/static2/imgpull" --out "$T_WORK/oci4" --tag test 2>/dev/null)
  t_assert_eq "$d3" "$d1" "the image of the second build has the same digest"
fi
t_ok "deterministic: $d1"

t_registry_start MAIN
dest="docker://$REG_MAIN_ADDR/tools/imgpull:test"
"$IMGPULL_SRC/scripts/image.sh" --binary "$static" --out "$T_WORK/oci3" --tag test --push "$dest" \
  --dest-tls-verify=false >"$T_WORK/push.out" 2>"$T_WORK/push.log" || t_fail "push failed: $(cat "$T_WORK/push.log")"
t_assert_eq "$(cat "$T_WORK/push.out")" "$d1" "the pushed build has the same digest"

ref="$REG_MAIN_ADDR/tools/imgpull:test"
t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --dest "$T_WORK/pulled" "$ref"
t_assert_eq "$(jq -r '.manifests[0].digest' "$T_WORK/pulled/index.json")" "$d1" "imgpull pulls the image with its digest"
ip_check_layout "$T_WORK/pulled"

blobs="$T_WORK/pulled/blobs/sha256"
manifest=$(jq -r '.manifests[0].digest' "$T_WORK/pulled/index.json")
config=$(jq -r '.config.digest' "$blobs/${manifest#sha256:}")
layer=$(jq -r '.layers[0].digest' "$blobs/${manifest#sha256:}")
t_assert_eq "$(jq -r '.layers | length' "$blobs/${manifest#sha256:}")" 1 "one layer"
jq -e '.config.User == "65532:65532" and .config.Entrypoint == ["/imgpull"] and .os == "linux" and
       .architecture == "amd64" and (.config.Labels["org.opencontainers.image.version"] | test("^[0-9]"))' \
  "$blobs/${config#sha256:}" >/dev/null || t_fail "image config: $(cat "$blobs/${config#sha256:}")"
mkdir -p "$T_WORK/rootfs"
tar -xzf "$blobs/${layer#sha256:}" -C "$T_WORK/rootfs"
tar -tzvf "$blobs/${layer#sha256:}" >"$T_WORK/layer.list"
t_assert_eq "$(awk '{print $6}' "$T_WORK/layer.list" | sed 's#/$##' | sort | tr '\n' ' ')" \
  "etc etc/ssl etc/ssl/certs etc/ssl/certs/ca-certificates.crt imgpull " "the layer's files"
awk '{print $2}' "$T_WORK/layer.list" | grep -qvx '0/0' && t_fail "layer entries not owned by 0/0: $(cat "$T_WORK/layer.list")"
cmp "$T_WORK/rootfs/imgpull" "$static" || t_fail "the binary in the image is not the static build"
t_expect_exit 0 "$T_WORK/rootfs/imgpull" version
t_assert_file_contains "$T_OUT" "^imgpull [0-9.]+ " "the image's binary runs"
t_pass
