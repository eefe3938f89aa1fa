#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A tar bomb: a gzip layer of a few hundred KB that expands to 256 MiB (a file
# of zeros), pulled with --unpack into a 32 MiB tmpfs. The layer may expand to
# no more than the free space of ROOTFS's filesystem: the pull fails with exit 7
# saying so, nothing is written beside ROOTFS, the rootfs is not marked complete,
# and the filesystem is not filled. A small image then unpacks there fine.
# The tmpfs lives in a mount namespace of the test's own.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
ip_mount_ns "$@"
t_workdir
t_registry_start MAIN

mkdir -p "$T_WORK/bomb-src"
truncate -s 256M "$T_WORK/bomb-src/zeros.bin"
tar --format=posix -C "$T_WORK/bomb-src" -cf "$T_WORK/bomb.tar" zeros.bin
rm -rf "$T_WORK/bomb-src"
ip_fs_image "$REG_MAIN_ADDR" bomb '[{"compression": "gzip", "tar": "'"$T_WORK/bomb.tar"'"}]' unpack/bomb:v1
rm -f "$T_WORK/bomb.tar"
ip_fs_image "$REG_MAIN_ADDR" ok '[{"compression": "gzip", "entries": [{"name": "etc/ok", "type": "file", "data": "fine\n"}]}]' unpack/ok:v1
layer=$(jq -r '.layers[0].size' "$T_WORK/bomb/blobs/sha256/$(jq -r '.manifests[0].digest' "$T_WORK/bomb/index.json" | cut -d: -f2)")
t_log "the bomb's layer: $layer bytes of gzip for 256 MiB"

mnt="$T_WORK/mnt"
mkdir -p "$mnt"
mount -t tmpfs -o size=32m tmpfs "$mnt" || t_fail "cannot mount a tmpfs (the test needs root)"
t_expect_exit 7 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$mnt/root" \
  "$REG_MAIN_ADDR/unpack/bomb:v1"
t_assert_file_contains "$T_ERR" "expands beyond the room there is for it" "the error says the layer expands beyond the room"
[[ ! -e "$mnt/root/.imgpull-unpacked" ]] || t_fail "the bomb's rootfs was marked complete"
[[ -z "$(ls -A "$mnt" | grep -v -x -e root -e root.imgpull-layout)" ]] || t_fail "something landed beside ROOTFS: $(ls -A "$mnt")"
used=$(df -k --output=used "$mnt" | tail -n 1 | tr -d " ")
((used < 16 * 1024)) || t_fail "the tmpfs was filled: ${used} KiB used"
t_ok "a ${layer}-byte layer expanding to 256 MiB refused on a 32 MiB filesystem (exit 7, ${used} KiB used)"

t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$mnt/ok" \
  "$REG_MAIN_ADDR/unpack/ok:v1"
[[ "$(cat "$mnt/ok/etc/ok")" == fine && -f "$mnt/ok/.imgpull-unpacked" ]] || t_fail "a small image did not unpack on the same filesystem"
t_ok "a small image unpacks on the same filesystem afterwards"
t_pass
