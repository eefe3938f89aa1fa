#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A plain registry: an image with a layer over 64 MiB (cut into ranges), checked
# by skopeo and containerd; re-pull finds everything cached; a second image and a
# concurrent imgpull share the layout without corrupting index.json.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

t_registry_start MAIN
ip_push_image "$REG_MAIN_ADDR" team/app:v1 --layer 1M --layer 80M --layer 10K
img1=$img
ip_push_image "$REG_MAIN_ADDR" team/other:v2 --oci "$T_WORK/src2" --layer 3M --layer 2M
img2=$img
ip_push_image "$REG_MAIN_ADDR" team/third:v3 --oci "$T_WORK/src3" --layer 5M
img3=$img

out="$T_WORK/out"
ref1="$REG_MAIN_ADDR/team/app:v1"
t_expect_exit 0 "$IMGPULL" pull --dest "$out" --plain-http "$REG_MAIN_ADDR" --chunk-size 8M \
  --connections 8 --progress json -v -v "$ref1"
t_assert_file_contains "$T_OUT" '"event":"summary"' "json progress ends with a summary"
t_assert_file_contains "$T_OUT" '"event":"blob_done"' "json progress reports finished blobs"
jq -e . "$T_OUT" >/dev/null || t_fail "every --progress json line parses as JSON"
ip_check_layout "$out"
t_assert_eq "$(jq -r '.manifests[0].digest' "$out/index.json")" "$img1" "index.json points at the pushed manifest"
t_assert_eq "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$out/index.json")" "$ref1" "ref.name annotation"
t_assert_eq "$(jq -r '.manifests[0].annotations["io.containerd.image.name"]' "$out/index.json")" "$ref1" "containerd name annotation"

# The 80 MiB layer went out as closed 8 MiB ranges (pull_redirect checks the
# same from the blob server's side).
ranges=$(grep -c 'GET .*/blobs/sha256:.* bytes=[0-9]*-[0-9]*' "$T_ERR" || true)
[[ $ranges -ge 10 ]] || t_fail "expected >= 10 ranged blob requests, saw $ranges"
t_ok "$ranges ranged requests"

ip_skopeo_check "$out" "$ref1" "$img1"
ip_containerd_start
ip_ctr_import "$out" "$ref1"

# On a terminal: a live display (cursor movement, per-layer bars, a total line).
rm -rf "$T_WORK/tty"
script -qefc "'$IMGPULL' pull --dest '$T_WORK/tty' --plain-http '$REG_MAIN_ADDR' --chunk-size 8M --connections 2 '$ref1'" \
  /dev/null >"$T_WORK/tty.out" 2>&1 </dev/null || { cat "$T_WORK/tty.out" >&2; t_fail "pull on a pseudo-terminal failed"; }
grep -q $'\033\\[1A' "$T_WORK/tty.out" || t_fail "no cursor movement in the terminal display"
t_assert_file_contains "$T_WORK/tty.out" 'total .* / .*/s' "terminal display has a total line with a rate"
t_assert_file_contains "$T_WORK/tty.out" 'pulled 1 image' "terminal display ends with the summary"

# Second pull: nothing to download.
t_expect_exit 0 "$IMGPULL" pull --dest "$out" --plain-http "$REG_MAIN_ADDR" --progress plain "$ref1"
t_assert_file_contains "$T_OUT" '\(0 bytes downloaded\)' "a re-pull downloads nothing"
t_assert_eq "$(jq '.manifests | length' "$out/index.json")" 1 "a re-pull does not duplicate the index entry"

# A reboot before the page cache reached the disk: blobs journaled as unsynced
# under another boot are re-verified, a damaged one is dropped and fetched again.
[[ -s "$out/ingest/unsynced" ]] || t_fail "blobs written without --fsync are journaled"
sed -i 's/^[^ ]* /00000000-dead-beef-0000-000000000000 /' "$out/ingest/unsynced"
victim=$(ls -S "$out/blobs/sha256" | head -1)
printf '\x00\x01' | dd of="$out/blobs/sha256/$victim" bs=1 seek=4096 conv=notrunc status=none
t_expect_exit 0 "$IMGPULL" pull --dest "$out" --plain-http "$REG_MAIN_ADDR" --progress plain "$ref1"
t_assert_file_contains "$T_ERR" "done sha256:$victim" "the damaged blob was downloaded again"
ip_check_layout "$out"
[[ ! -e "$out/ingest/unsynced" ]] || ! grep -q dead-beef "$out/ingest/unsynced" || t_fail "old-boot journal lines are dropped"
t_expect_exit 0 "$IMGPULL" pull --dest "$out" --plain-http "$REG_MAIN_ADDR" --fsync -q "$ref1"

# Two processes at once on the same layout, each adding an image.
"$IMGPULL" pull --dest "$out" --plain-http "$REG_MAIN_ADDR" -q "$REG_MAIN_ADDR/team/other:v2" 2>"$T_WORK/p2.err" &
p2=$!
"$IMGPULL" pull --dest "$out" --plain-http "$REG_MAIN_ADDR" -q "$REG_MAIN_ADDR/team/third:v3" 2>"$T_WORK/p3.err" &
p3=$!
wait $p2 || { cat "$T_WORK/p2.err" >&2; t_fail "concurrent pull 2 failed"; }
wait $p3 || { cat "$T_WORK/p3.err" >&2; t_fail "concurrent pull 3 failed"; }
t_assert_eq "$(jq '.manifests | length' "$out/index.json")" 3 "both concurrent pulls recorded"
ip_check_layout "$out"
ip_skopeo_check "$out" "$REG_MAIN_ADDR/team/other:v2" "$img2"
ip_skopeo_check "$out" "$REG_MAIN_ADDR/team/third:v3" "$img3"

# Several images in one invocation share the connections.
out2="$T_WORK/out2"
t_expect_exit 0 "$IMGPULL" pull --dest "$out2" --plain-http "$REG_MAIN_ADDR" -q \
  "$ref1" "$REG_MAIN_ADDR/team/other:v2" "$REG_MAIN_ADDR/team/third:v3"
t_assert_eq "$(jq '.manifests | length' "$out2/index.json")" 3 "three images from one invocation"
ip_check_layout "$out2"
t_pass
