#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# pull --unpack: an image of generated layers (every entry type, owners and
# modes, setuid, long and non-ASCII names, xattrs, hard links within and across
# layers, whiteouts, an opaque directory, a file replaced by a directory and the
# reverse; a gzip and a plain tar layer) pulled from the real docker-registry
# and unpacked; the result equals umoci's unpack of the same image, entry by
# entry (test/lib/treecmp.py), xattrs included. Without --dest no layout is left
# (a layer's blob goes once applied, its bytes as they are read); the marker says
# complete; a rerun finds the image there. Through a capped store the first
# layer is unpacked while the second downloads; killed then, a rerun redoes the
# rootfs whole. A zstd layer unpacks too (umoci 0.4.7
# reads no zstd: checked by content). A layer escaping with "..", and a config
# whose diff_id lies, fail with exit 6 and write nothing outside ROOTFS, as does a
# valid layer whose blob digest is wrong (the rootfs stays unfinished); a
# non-empty directory that is not imgpull's is never touched (exit 2).
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
command -v umoci >/dev/null || t_fail "umoci is missing (scripts/deps.sh installs it)"
command -v zstd >/dev/null || t_fail "zstd is missing (scripts/deps.sh installs it)"
t_registry_start MAIN

# build NAME SPEC: an OCI layout $T_WORK/NAME tagged v1 from the JSON layer SPEC,
# pushed to the registry as unpack/NAME:v1.
build() { ip_fs_image "$REG_MAIN_ADDR" "$1" "$2" "unpack/$1:v1"; }
long=$(printf 'n%.0s' {1..150})
build fs '[
 {"compression": "gzip", "entries": [
  {"name": "etc/", "type": "dir", "mode": 493},
  {"name": "etc/passwd", "type": "file", "data": "root:x:0:0::/root:/bin/sh\n", "mode": 420},
  {"name": "usr/bin/", "type": "dir"},
  {"name": "usr/bin/tool", "type": "file", "data": "#!/bin/sh\n", "mode": 2541, "uid": 0, "gid": 0},
  {"name": "usr/bin/alias", "type": "hardlink", "link": "usr/bin/tool"},
  {"name": "usr/lib/libx.so.1", "type": "file", "data": "ELF", "mode": 493, "uid": 1000, "gid": 1000},
  {"name": "usr/lib/libx.so", "type": "symlink", "link": "libx.so.1"},
  {"name": "bin", "type": "symlink", "link": "usr/bin"},
  {"name": "abs", "type": "symlink", "link": "/etc/passwd"},
  {"name": "dev/", "type": "dir"},
  {"name": "dev/null", "type": "char", "major": 1, "minor": 3, "mode": 438},
  {"name": "run/fifo", "type": "fifo", "mode": 384},
  {"name": "deep/'"$long"'/'"$long"'.txt", "type": "file", "data": "long names"},
  {"name": "data/caf\u00e9-\u20ac.txt", "type": "file", "data": "utf8"},
  {"name": "data/attrs", "type": "file", "data": "x", "xattrs": {"user.imgpull": "yes"}},
  {"name": "gone/file", "type": "file", "data": "to be whited out"},
  {"name": "opaque/a", "type": "file", "data": "lower a"},
  {"name": "opaque/b/c", "type": "file", "data": "lower c"},
  {"name": "was-dir/x", "type": "file", "data": "x"},
  {"name": "was-file", "type": "file", "data": "a file"},
  {"name": "tmp/", "type": "dir", "mode": 1023}
 ]},
 {"compression": "none", "entries": [
  {"name": "gone/.wh.file", "type": "file"},
  {"name": "opaque/.wh..wh..opq", "type": "file"},
  {"name": "opaque/new", "type": "file", "data": "upper"},
  {"name": "was-dir", "type": "file", "data": "now a file"},
  {"name": "was-file/", "type": "dir"},
  {"name": "was-file/y", "type": "file", "data": "y"},
  {"name": "usr/bin/again", "type": "hardlink", "link": "usr/bin/tool"},
  {"name": "etc/passwd", "type": "file", "data": "root:x:0:0::/root:/bin/bash\n", "mode": 384}
 ]}
]'
ref="$REG_MAIN_ADDR/unpack/fs:v1"
rootfs="$T_WORK/rootfs"
t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$rootfs" "$ref"
[[ -f "$rootfs/.imgpull-unpacked" ]] || t_fail "no completion marker"
[[ ! -e "$rootfs/.imgpull-unpacking" ]] || t_fail "the busy marker stayed"
pushed=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$ref")
jq -e --arg d "$pushed" '.manifest == $d' "$rootfs/.imgpull-unpacked" >/dev/null ||
  t_fail "the marker does not name the manifest: $(cat "$rootfs/.imgpull-unpacked")"
[[ ! -e "$rootfs.imgpull-layout" ]] || t_fail "the temporary layout was left behind"
umoci unpack --image "$T_WORK/fs:v1" "$T_WORK/bundle" >"$T_WORK/umoci.log" 2>&1 || t_fail "umoci unpack failed: $(cat "$T_WORK/umoci.log")"
"$T_PY" "$T_LIB_DIR/treecmp.py" "$rootfs" "$T_WORK/bundle/rootfs" --ignore .imgpull-unpacked >"$T_WORK/cmp.out" ||
  t_fail "imgpull's rootfs differs from umoci's:
$(head -n 60 "$T_WORK/cmp.out")"
# treecmp compares xattrs too; this one is asserted on its own as well, so that
# a writer and a reader that both dropped it cannot agree.
"$T_PY" -c 'import os, sys; sys.exit(os.getxattr(sys.argv[1], "user.imgpull") != b"yes")' "$rootfs/data/attrs" ||
  t_fail "the user.imgpull xattr of data/attrs was not kept"
t_ok "unpacked equals umoci's: $(tail -1 "$T_WORK/cmp.out")"

t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$rootfs" "$ref"
t_assert_file_contains "$T_ERR" "holds $ref already" "a rerun finds the image unpacked"
t_ok "a rerun finds the image there"

# Unpacking overlaps the download: through a store capped per connection the
# first layer is unpacked (its last entry in place) while the second, larger
# one is still downloading.
ip_redirect_setup SLOW SLOWREG --storage "$T_WORK/slow-storage" --rate 2m
ip_fs_image "$REG_SLOWREG_ADDR" stream '[{"compression": "gzip", "entries": [{"name": "first/a.bin", "type": "file", "random": 3000000}]},
  {"compression": "gzip", "entries": [{"name": "second/b.bin", "type": "file", "random": 24000000}]}]' unpack/stream:v1
t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_SLOWREG_ADDR" --progress plain --connections 2 --chunk-size 4M \
  --unpack "$T_WORK/stream-root" "$REG_SLOWREG_ADDR/unpack/stream:v1"
second=$(jq -r '.layers[1].digest' "$T_WORK/stream/blobs/sha256/$(jq -r '.manifests[0].digest' "$T_WORK/stream/index.json" | cut -d: -f2)")
grep -n "unpack: layer 1/2\|^done $second" "$T_ERR" >"$T_WORK/order" || true
[[ $(wc -l <"$T_WORK/order") -eq 2 && "$(head -1 "$T_WORK/order")" == *"unpack: layer 1/2"* ]] ||
  t_fail "layer 1 was not unpacked before layer 2 finished downloading: $(cat "$T_WORK/order")"
cmp -s "$T_WORK/stream-root/second/b.bin" <(python3 -c 'import random,sys; sys.stdout.buffer.write(random.Random("second/b.bin").randbytes(24000000))') ||
  t_fail "the streamed layer's file differs"
t_ok "layer 1 unpacked while layer 2 downloaded ($(tr '\n' ' ' <"$T_WORK/order" | cut -c1-160))"

# A hostile entry at the start of a layer whose download then stalls (a fault
# proxy holds the rest for 60 s) ends the pull at once: the inflater's wait for
# more bytes is cancelled with the unpack's error, not left to the stall timeout.
build hostslow '[{"compression": "gzip", "entries": [{"name": "../escaped", "type": "file", "data": "x"},
  {"name": "big.bin", "type": "file", "random": 4000000}]}]'
hs=$(jq -r '.layers[0].digest' "$T_WORK/hostslow/blobs/sha256/$(jq -r '.manifests[0].digest' "$T_WORK/hostslow/index.json" | cut -d: -f2)")
ip_faultproxy_start HS "$REG_MAIN_ADDR"
echo "/blobs/$hs stall 300000 60 times=20" >"$FAULT_HS_RULES"
mkdir -p "$T_WORK/hsjail"
t0=$(date +%s)
t_expect_exit 6 "$IMGPULL" pull --plain-http "$FAULT_HS_ADDR" --progress none --connections 1 --chunk-size 64M \
  --unpack "$T_WORK/hsjail/root" "$FAULT_HS_ADDR/unpack/hostslow:v1"
took=$(($(date +%s) - t0))
t_assert_file_contains "$T_ERR" "entry '../escaped' refused" "the escaping entry is named"
((took < 15)) || t_fail "the pull took ${took} s: it waited on the stalled download instead of ending"
[[ ! -e "$T_WORK/hsjail/escaped" ]] || t_fail "the escaping entry was written"
t_ok "a hostile entry at the start of a layer whose download stalls: exit 6 in ${took} s"

# Two pulls sharing a layout: the first (no unpack) is fetching the layers when
# the second, with --unpack, starts; the second waits for the first's blobs and
# unpacks them from the layout once they are committed.
"$IMGPULL" pull --plain-http "$REG_SLOWREG_ADDR" --progress none --connections 2 --chunk-size 4M \
  --dest "$T_WORK/shared" "$REG_SLOWREG_ADDR/unpack/stream:v1" 2>"$T_WORK/first.err" &
first_pid=$!
t_wait_until 20 bash -c 'ls "$1"/ingest/*.partial >/dev/null 2>&1' _ "$T_WORK/shared" || t_fail "the first pull did not start"
t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_SLOWREG_ADDR" --progress none --connections 2 --chunk-size 4M \
  --dest "$T_WORK/shared" --unpack "$T_WORK/shared-root" "$REG_SLOWREG_ADDR/unpack/stream:v1"
wait "$first_pid" || t_fail "the first pull failed: $(tail -n 5 "$T_WORK/first.err")"
t_assert_file_contains "$T_ERR" "another imgpull is fetching it into this layout" "the second pull waited for the first's blobs"
"$T_PY" "$T_LIB_DIR/treecmp.py" "$T_WORK/shared-root" "$T_WORK/stream-root" --ignore .imgpull-unpacked >"$T_WORK/cmp4.out" ||
  t_fail "the rootfs unpacked from another pull's blobs differs: $(head -n 20 "$T_WORK/cmp4.out")"
t_ok "a second pull sharing the layout unpacked the blobs the first one committed"

# Killed in the middle (layer 1 unpacked, layer 2 on its way), then run again:
# the unfinished rootfs is emptied and made anew, and marked complete.
"$IMGPULL" pull -v --plain-http "$REG_SLOWREG_ADDR" --progress none --connections 2 --chunk-size 4M \
  --unpack "$T_WORK/killed-root" "$REG_SLOWREG_ADDR/unpack/stream:v1" 2>"$T_WORK/killed.err" &
pid=$!
t_wait_until 20 grep -q "unpack: layer 1/2" "$T_WORK/killed.err" || t_fail "layer 1 was not unpacked in 20 s"
# Without --dest nothing is kept: layer 1's blob left the temporary layout once
# applied, and layer 2's bytes leave its partial file as they are unpacked.
first=$(jq -r '.layers[0].digest' "$T_WORK/stream/blobs/sha256/$(jq -r '.manifests[0].digest' "$T_WORK/stream/index.json" | cut -d: -f2)")
[[ ! -e "$T_WORK/killed-root.imgpull-layout/blobs/sha256/${first#sha256:}" ]] ||
  t_fail "layer 1's blob stayed in the temporary layout after it was applied"
t_wait_until 20 bash -c '[[ $(stat -c %s "$1" 2>/dev/null || echo 0) -ge 12000000 ]]' _ "$T_WORK/killed-root/second/b.bin" ||
  t_fail "layer 2 did not get 12 MB into the rootfs in 20 s"
partial=$(find "$T_WORK/killed-root.imgpull-layout" -name "${second#sha256:}.partial" -type f)
[[ -n "$partial" ]] || t_fail "no partial file of layer 2 in $(find "$T_WORK/killed-root.imgpull-layout")"
hole=$("$T_PY" -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    print(os.lseek(fd, 0, os.SEEK_DATA))
except OSError:
    print(os.fstat(fd).st_size)' "$partial")
((hole >= 8 * 1048576)) || t_fail "layer 2's partial file holds its first bytes still (data from $hole): they were not dropped"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
t_ok "without --dest: layer 1's blob dropped once applied, layer 2's first $((hole >> 20)) MiB punched out while it unpacked"
[[ -e "$T_WORK/killed-root/.imgpull-unpacking" && ! -e "$T_WORK/killed-root/.imgpull-unpacked" ]] ||
  t_fail "a killed unpack should be marked busy, not complete: $(ls -A "$T_WORK/killed-root")"
t_expect_exit 0 "$IMGPULL" pull -v --plain-http "$REG_SLOWREG_ADDR" --progress none --connections 2 --chunk-size 4M \
  --unpack "$T_WORK/killed-root" "$REG_SLOWREG_ADDR/unpack/stream:v1"
t_assert_file_contains "$T_ERR" "holds an unfinished unpack; emptying it" "the rerun starts the rootfs over"
"$T_PY" "$T_LIB_DIR/treecmp.py" "$T_WORK/killed-root" "$T_WORK/stream-root" --ignore .imgpull-unpacked >"$T_WORK/cmp3.out" ||
  t_fail "the rootfs made after a kill differs: $(head -n 20 "$T_WORK/cmp3.out")"
t_ok "killed during the unpack, then run again: a complete rootfs equal to an uninterrupted one"

# A sparse file (GNU tar --sparse): its holes stay holes.
mkdir -p "$T_WORK/sparse-src"
truncate -s 64M "$T_WORK/sparse-src/disk.img"
printf 'head' | dd of="$T_WORK/sparse-src/disk.img" conv=notrunc status=none
printf 'tail' | dd of="$T_WORK/sparse-src/disk.img" bs=1 seek=$((64 * 1048576 - 4)) conv=notrunc status=none
tar --sparse --format=posix -C "$T_WORK/sparse-src" -cf "$T_WORK/sparse.tar" disk.img
build sparse '[{"compression": "gzip", "tar": "'"$T_WORK/sparse.tar"'"}]'
t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/sparse-root" \
  "$REG_MAIN_ADDR/unpack/sparse:v1"
cmp -s "$T_WORK/sparse-root/disk.img" "$T_WORK/sparse-src/disk.img" || t_fail "the sparse file's content differs"
used=$(du -k "$T_WORK/sparse-root/disk.img" | cut -f1)
((used < 1024)) || t_fail "the sparse file takes $used KiB on disk: its holes were filled"
t_ok "a sparse 64 MiB file unpacked with its holes ($used KiB on disk)"

# A zstd layer.
build zs '[{"compression": "zstd", "entries": [
  {"name": "weights/model.bin", "type": "file", "data": "zstd layer content"},
  {"name": "weights/link", "type": "symlink", "link": "model.bin"}]}]'
t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/zs-root" \
  --dest "$T_WORK/zs-layout" "$REG_MAIN_ADDR/unpack/zs:v1"
[[ "$(cat "$T_WORK/zs-root/weights/model.bin")" == "zstd layer content" ]] || t_fail "the zstd layer's file"
[[ "$(readlink "$T_WORK/zs-root/weights/link")" == model.bin ]] || t_fail "the zstd layer's link"
[[ -d "$T_WORK/zs-layout/blobs" ]] || t_fail "--dest with --unpack keeps the layout"
t_ok "a zstd layer unpacked; with --dest the layout stays"

# An OCI artifact (ORAS-style: an empty config, artifactType, titled layers):
# written as its files; a title that climbs out is refused.
push_artifact() { # REPO TITLE... (each file's content is "content of TITLE")
  "$T_PY" - "$REG_MAIN_ADDR" "$@" <<'PY'
import hashlib, json, sys, urllib.request
addr, repo, titles = sys.argv[1], sys.argv[2], sys.argv[3:]
def put(data):
    r = urllib.request.urlopen(urllib.request.Request("http://%s/v2/%s/blobs/uploads/" % (addr, repo), method="POST"))
    loc = r.headers["Location"]
    loc = loc if loc.startswith("http") else "http://%s%s" % (addr, loc)
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    urllib.request.urlopen(urllib.request.Request(loc + ("&" if "?" in loc else "?") + "digest=" + d, data=data,
                           method="PUT", headers={"Content-Type": "application/octet-stream"}))
    return d
layers = []
for t in titles:
    data = ("content of %s\n" % t).encode() * 1000
    layers.append({"mediaType": "application/vnd.example.weights", "digest": put(data), "size": len(data),
                   "annotations": {"org.opencontainers.image.title": t}})
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "artifactType": "application/vnd.example.model",
     "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": put(b"{}"), "size": 2},
     "layers": layers}
urllib.request.urlopen(urllib.request.Request("http://%s/v2/%s/manifests/v1" % (addr, repo), data=json.dumps(m).encode(),
                       method="PUT", headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
PY
}
push_artifact unpack/model model/weights-1.bin tokenizer.json
t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/model" \
  "$REG_MAIN_ADDR/unpack/model:v1"
for t in model/weights-1.bin tokenizer.json; do
  cmp -s "$T_WORK/model/$t" <(for i in $(seq 1000); do echo "content of $t"; done) || t_fail "artifact file $t differs"
done
[[ -f "$T_WORK/model/.imgpull-unpacked" && $(ls -A "$T_WORK/model" | wc -l) -eq 3 ]] ||
  t_fail "the artifact's directory holds more than its files: $(ls -A "$T_WORK/model")"
push_artifact unpack/evil ok.bin ../evil.bin
mkdir -p "$T_WORK/ajail"
t_expect_exit 6 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/ajail/root" \
  "$REG_MAIN_ADDR/unpack/evil:v1"
t_assert_file_contains "$T_ERR" "artifact file '../evil.bin' refused" "the climbing title is named"
[[ ! -e "$T_WORK/ajail/evil.bin" && ! -e "$T_WORK/ajail/root/.imgpull-unpacked" ]] || t_fail "the climbing title wrote outside or was marked complete"
t_ok "an artifact written as its two titled files; a title with ../ refused (exit 6)"

# Hostile: "..", and a config whose diff_id lies. Nothing lands beside ROOTFS.
build esc '[{"compression": "gzip", "entries": [
  {"name": "ok", "type": "file", "data": "fine"},
  {"name": "../escaped", "type": "file", "data": "outside!"}]}]'
mkdir -p "$T_WORK/jail"
t_expect_exit 6 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/jail/root" \
  "$REG_MAIN_ADDR/unpack/esc:v1"
t_assert_file_contains "$T_ERR" "entry '../escaped' refused" "the escaping entry is named"
[[ "$(ls "$T_WORK/jail")" == $'root\nroot.imgpull-layout' ]] || t_fail "something landed beside ROOTFS: $(ls -a "$T_WORK/jail")"
[[ ! -e "$T_WORK/jail/root/.imgpull-unpacked" ]] || t_fail "a refused unpack was marked complete"
build lie '[{"compression": "gzip", "diff_id": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
  "entries": [{"name": "f", "type": "file", "data": "x"}]}]'
t_expect_exit 6 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/lie-root" \
  "$REG_MAIN_ADDR/unpack/lie:v1"
t_assert_file_contains "$T_ERR" "the config says sha256:0000" "the diff_id mismatch is named"
[[ ! -e "$T_WORK/lie-root/.imgpull-unpacked" ]] || t_fail "a layer with a lying diff_id was marked complete"
t_ok "an escaping entry and a lying diff_id: exit 6, nothing outside, not marked complete"

# A blob whose digest is wrong although it is a valid layer of the right
# diff_id (its gzip header's OS byte changed in the registry's storage): the
# unpacker gets the blob's last byte only once the digest checked out, so the
# rootfs is never marked complete.
build wrongblob '[{"compression": "gzip", "entries": [{"name": "w.bin", "type": "file", "random": 300000}]}]'
wb=$(jq -r '.layers[0].digest' "$T_WORK/wrongblob/blobs/sha256/$(jq -r '.manifests[0].digest' "$T_WORK/wrongblob/index.json" | cut -d: -f2)")
wb_data="$T_WORK/registry-MAIN/storage/docker/registry/v2/blobs/sha256/${wb:7:2}/${wb#sha256:}/data"
[[ -f "$wb_data" ]] || t_fail "no blob data at $wb_data"
"$T_PY" -c 'import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[9] ^= 0xff; open(p, "wb").write(b)' "$wb_data"
gzip -t <"$wb_data" || t_fail "the changed blob should still be valid gzip"
t_expect_exit 6 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/wb-root" \
  "$REG_MAIN_ADDR/unpack/wrongblob:v1"
t_assert_file_contains "$T_ERR" "has digest" "the blob digest mismatch is named"
[[ -e "$T_WORK/wb-root/.imgpull-unpacking" && ! -e "$T_WORK/wb-root/.imgpull-unpacked" ]] ||
  t_fail "a layer whose blob digest failed must leave the rootfs marked unfinished: $(ls -A "$T_WORK/wb-root")"
t_ok "a valid layer whose blob digest is wrong: exit 6, the rootfs marked unfinished"

# A rerun after the refused one starts over cleanly (the busy marker is ours);
# a non-empty directory of someone else's is never touched.
t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/jail/root" "$ref"
"$T_PY" "$T_LIB_DIR/treecmp.py" "$T_WORK/jail/root" "$T_WORK/bundle/rootfs" --ignore .imgpull-unpacked >"$T_WORK/cmp2.out" ||
  t_fail "the unpack over an unfinished one differs from umoci's: $(head -n 20 "$T_WORK/cmp2.out")"
mkdir -p "$T_WORK/theirs"
echo precious >"$T_WORK/theirs/file"
t_expect_exit 2 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$T_WORK/theirs" "$ref"
[[ "$(cat "$T_WORK/theirs/file")" == precious && $(ls -A "$T_WORK/theirs" | wc -l) -eq 1 ]] ||
  t_fail "a directory that is not imgpull's was changed"
t_ok "an unfinished unpack is redone cleanly; a foreign directory is left alone (exit 2)"
t_pass
