#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A real root filesystem: Debian 12 minbase made by mmdebstrap (from Debian's
# mirror), packed as a two-layer image (the rootfs, gzip; then a layer that
# makes /usr/share/doc opaque, whites out /usr/share/man, replaces /etc/hostname
# and adds a file, as plain tar), pushed to the real docker-registry; imgpull's
# --unpack equals umoci's unpack entry by entry (thousands of files, hard links,
# setuid binaries).
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
command -v mmdebstrap >/dev/null || t_fail "mmdebstrap is missing (scripts/deps.sh installs it)"
command -v umoci >/dev/null || t_fail "umoci is missing (scripts/deps.sh installs it)"

mirror=${IMGPULL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mmdebstrap --quiet --variant=minbase --mode=root bookworm "$T_WORK/debian.tar" "$mirror" >"$T_WORK/mmdebstrap.log" 2>&1 ||
  t_fail "mmdebstrap failed: $(tail -n 20 "$T_WORK/mmdebstrap.log")"
t_log "mmdebstrap: $(du -h "$T_WORK/debian.tar" | cut -f1) tar, $(tar -tf "$T_WORK/debian.tar" | wc -l) entries"

# The second layer: Go-style PAX entries, as fsimage.py writes them.
cat >"$T_WORK/spec.json" <<EOF
[{"compression": "gzip", "tar": "$T_WORK/debian.tar"},
 {"compression": "none", "entries": [
  {"name": "usr/share/doc/.wh..wh..opq", "type": "file"},
  {"name": "usr/share/doc/README.imgpull", "type": "file", "data": "docs removed\n"},
  {"name": "usr/share/.wh.man", "type": "file"},
  {"name": "etc/hostname", "type": "file", "data": "unpacked\n", "mode": 420},
  {"name": "opt/app/run.sh", "type": "file", "data": "#!/bin/sh\nexit 0\n", "mode": 493}]}]
EOF
"$T_PY" "$T_LIB_DIR/fsimage.py" "$T_WORK/oci" v1 "$T_WORK/spec.json" >/dev/null || t_fail "fsimage.py failed"
t_registry_start MAIN
t_push "$T_WORK/oci" v1 "$REG_MAIN_ADDR" debian/minbase:v1
t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/rootfs" \
  "$REG_MAIN_ADDR/debian/minbase:v1"
t_log "$(grep -o 'unpack: .* into .*' "$T_ERR" | tail -1)"
umoci unpack --image "$T_WORK/oci:v1" "$T_WORK/bundle" >"$T_WORK/umoci.log" 2>&1 ||
  t_fail "umoci unpack failed: $(tail "$T_WORK/umoci.log")"
"$T_PY" "$T_LIB_DIR/treecmp.py" "$T_WORK/rootfs" "$T_WORK/bundle/rootfs" --ignore .imgpull-unpacked >"$T_WORK/cmp.out" ||
  t_fail "imgpull's Debian rootfs differs from umoci's:
$(head -n 60 "$T_WORK/cmp.out")"
[[ ! -e "$T_WORK/rootfs/usr/share/man" && -f "$T_WORK/rootfs/usr/share/doc/README.imgpull" &&
  $(ls "$T_WORK/rootfs/usr/share/doc" | wc -l) -eq 1 ]] || t_fail "the second layer's whiteouts did not apply"
t_ok "Debian minbase in two layers: $(tail -1 "$T_WORK/cmp.out")"
t_pass
