#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# pull --unpack ROOTFS: what may refuse is checked before anything is created,
# and a finished ROOTFS costs no download.
#  - A non-empty directory that is not imgpull's (and a ROOTFS that is a file):
#    exit 2, and nothing new anywhere beside it (a listing of the parent before
#    and after; no ROOTFS.imgpull-layout, no partial file, no --dest) and no blob
#    requested.
#  - '/', '/tmp/..' and a symbolic link to '/' are refused (exit 2) with nothing
#    created ('/.imgpull-layout' was made before); 'ROOTFS/' and '.' get their
#    temporary layout beside the directory, not inside it.
#  - A rerun on a ROOTFS marked complete for the same manifest: exit 0, no blob
#    request in the registry's access log, no temporary layout, the rootfs
#    untouched, the output saying so (JSON image_done and a summary with 0 bytes
#    received; the termination message). Pinned by that manifest's digest, the
#    rerun needs no registry at all (it is stopped first); pinned by another
#    digest it fails (exit 5) leaving the rootfs as it was.
#  - A tag moved to another image: the rerun empties ROOTFS (its marker says it
#    is imgpull's) and unpacks the new image.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
t_registry_start MAIN

# build NAME SPEC TAG...: an OCI layout $T_WORK/NAME from the JSON layer SPEC,
# pushed as unpack/NAME:TAG for each TAG.
build() {
  local name=$1 spec=$2
  shift 2
  ip_fs_image "$REG_MAIN_ADDR" "$name" "$spec" "${@/#/unpack/}"
}
build img '[{"compression": "gzip", "entries": [{"name": "etc/release", "type": "file", "data": "one\n"},
  {"name": "big.bin", "type": "file", "random": 6000000}]},
 {"compression": "gzip", "entries": [{"name": "etc/more", "type": "file", "data": "more\n"}]}]' img:v1 img:moving
build other '[{"compression": "gzip", "entries": [{"name": "etc/release", "type": "file", "data": "two\n"}]}]'
ref="$REG_MAIN_ADDR/unpack/img:v1"
digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$ref") || t_fail "skopeo inspect $ref"
pull=("$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none)

# Requests for blobs (GET or HEAD) in the registry's access log so far.
blob_requests() { grep -cE '"(GET|HEAD) /v2/[^" ]*/blobs/' "$REG_MAIN_LOG" || true; }
# Every name under DIR with its type and size, sorted.
listing() { (cd "$1" && find . -printf '%p %y %s\n' | LC_ALL=C sort); }
# unchanged WHAT DIR BEFORE: DIR lists as BEFORE did.
unchanged() {
  local now
  now=$(listing "$2")
  [[ "$now" == "$3" ]] || t_fail "$1 created or changed something in $2:
$(diff <(printf '%s\n' "$3") <(printf '%s\n' "$now") | head -n 20)"
}

# A foreign non-empty ROOTFS: refused before anything is created.
mkdir -p "$T_WORK/f/theirs"
echo precious >"$T_WORK/f/theirs/file"
echo also >"$T_WORK/f/plainfile"
before=$(listing "$T_WORK/f")
nreq=$(blob_requests)
t_expect_exit 2 "${pull[@]}" --unpack "$T_WORK/f/theirs" "$ref"
t_assert_file_contains "$T_ERR" "is not empty and holds no unpack of imgpull's" "the refusal says why"
unchanged "a refused --unpack" "$T_WORK/f" "$before"
t_expect_exit 2 "${pull[@]}" --unpack "$T_WORK/f/theirs" --dest "$T_WORK/f/layout" "$ref"
unchanged "a refused --unpack with --dest" "$T_WORK/f" "$before"
t_expect_exit 2 "${pull[@]}" --unpack "$T_WORK/f/plainfile" "$ref"
t_assert_file_contains "$T_ERR" "is not a directory" "a ROOTFS that is a file is named as such"
unchanged "--unpack of a file" "$T_WORK/f" "$before"
t_assert_eq "$(blob_requests)" "$nreq" "no blob requested for a refused --unpack"
t_ok "a foreign ROOTFS (and a file as ROOTFS): exit 2, nothing created beside it, no blob requested"

# The root directory, however named, is refused with nothing created.
for junk in /.imgpull-layout /tmp/...imgpull-layout; do
  [[ ! -e "$junk" ]] || t_fail "$junk exists before the test"
done
mkdir -p "$T_WORK/r"
ln -s / "$T_WORK/r/rootlink"
before=$(listing "$T_WORK/r")
for root in / /tmp/.. "$T_WORK/r/rootlink" //; do
  rc=0
  "${pull[@]}" --unpack "$root" "$ref" 2>"$T_WORK/root.err" || rc=$?
  for junk in /.imgpull-layout /tmp/...imgpull-layout; do
    if [[ -e "$junk" ]]; then
      rm -rf "$junk"
      t_fail "--unpack $root created $junk (exit $rc)"
    fi
  done
  t_assert_eq "$rc" 2 "the exit status of --unpack $root"
  t_assert_file_contains "$T_WORK/root.err" "is the root directory" "--unpack $root is refused as the root directory"
done
unchanged "--unpack of the root directory" "$T_WORK/r" "$before"
t_assert_eq "$(blob_requests)" "$nreq" "no blob requested for --unpack /"
t_ok "'/', '/tmp/..', '//' and a link to '/' refused (exit 2), nothing created"

# 'ROOTFS/' and '.': the temporary layout beside the directory, not in it.
mkdir -p "$T_WORK/ts" "$T_WORK/dot/root"
t_expect_exit 0 "${pull[@]}" --unpack "$T_WORK/ts/root/" "$ref"
t_assert_eq "$(ls -A "$T_WORK/ts")" root "only ROOTFS is left beside 'ROOTFS/'"
[[ -f "$T_WORK/ts/root/.imgpull-unpacked" && ! -e "$T_WORK/ts/root/.imgpull-layout" ]] ||
  t_fail "'ROOTFS/' unpacked wrongly: $(ls -A "$T_WORK/ts/root")"
t_expect_exit 0 env -C "$T_WORK/dot/root" "${pull[@]}" --unpack . "$ref"
t_assert_eq "$(ls -A "$T_WORK/dot")" root "only ROOTFS is left beside '.'"
[[ "$(cat "$T_WORK/dot/root/etc/release")" == one && ! -e "$T_WORK/dot/root/.imgpull-layout" ]] ||
  t_fail "'.' unpacked wrongly: $(ls -A "$T_WORK/dot/root")"
t_ok "'ROOTFS/' and '.' unpacked with the temporary layout beside them"

# A finished ROOTFS: a rerun fetches no blob and creates nothing.
rootfs="$T_WORK/done/root"
nreq=$(blob_requests)
t_expect_exit 0 "${pull[@]}" --unpack "$rootfs" "$ref"
first=$(($(blob_requests) - nreq))
((first >= 3)) || t_fail "the first pull made $first blob requests: the count does not see them"
marker=$(cat "$rootfs/.imgpull-unpacked")
before=$(listing "$T_WORK/done")
inode=$(stat -c %i "$rootfs/big.bin")
nreq=$(blob_requests)
t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress json --termination-log "$T_WORK/term.log" \
  --unpack "$rootfs" "$ref"
t_assert_eq "$(blob_requests)" "$nreq" "blob requests of the rerun"
unchanged "the rerun on a finished ROOTFS" "$T_WORK/done" "$before"
t_assert_eq "$(cat "$rootfs/.imgpull-unpacked")" "$marker" "the marker after the rerun"
t_assert_eq "$(stat -c %i "$rootfs/big.bin")" "$inode" "big.bin's inode after the rerun"
jq -s -e --arg d "$digest" 'any(.[]; .event == "image_done" and .digest == $d)' "$T_OUT" >/dev/null ||
  t_fail "no image_done event for $digest: $(cat "$T_OUT")"
jq -s -e 'any(.[]; .event == "summary" and .received_bytes == 0)' "$T_OUT" >/dev/null ||
  t_fail "no summary with 0 bytes received: $(cat "$T_OUT")"
t_assert_file_contains "$T_WORK/term.log" "already" "the termination message says the rootfs was complete"
t_assert_file_contains "$T_WORK/term.log" "$digest" "the termination message names the manifest"
t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress plain --unpack "$rootfs" "$ref"
t_assert_file_contains "$T_ERR" "holds $ref already" "the plain output says the rootfs was complete"
t_assert_eq "$(blob_requests)" "$nreq" "blob requests of the plain rerun"
t_ok "a rerun on a finished ROOTFS: exit 0, 0 blob requests (the first run made $first), nothing created"

# A moved tag: the rootfs (imgpull's, by its marker) is emptied and the new image unpacked.
t_expect_exit 0 "${pull[@]}" --unpack "$T_WORK/moved" "$REG_MAIN_ADDR/unpack/img:moving"
t_push "$T_WORK/other" v1 "$REG_MAIN_ADDR" unpack/img:moving
t_expect_exit 0 "${pull[@]}" -v --unpack "$T_WORK/moved" "$REG_MAIN_ADDR/unpack/img:moving"
t_assert_file_contains "$T_ERR" "holds another image; emptying it" "the moved tag's rootfs is emptied"
[[ "$(cat "$T_WORK/moved/etc/release")" == two && ! -e "$T_WORK/moved/big.bin" ]] ||
  t_fail "the moved tag's rootfs does not hold the new image alone: $(ls -A "$T_WORK/moved")"
jq -e --arg d "$digest" '.manifest != $d' "$T_WORK/moved/.imgpull-unpacked" >/dev/null ||
  t_fail "the marker still names the old manifest"
t_ok "a moved tag: the rootfs holds the new image"

# Pinned by the marker's digest: no registry needed. Pinned by another: exit 5, nothing changed.
t_stop "$REG_MAIN_PID"
for pinned in "$REG_MAIN_ADDR/unpack/img@$digest" "$REG_MAIN_ADDR/unpack/img:v1@$digest"; do
  t_expect_exit 0 "${pull[@]}" --retries 0 --unpack "$rootfs" "$pinned"
  unchanged "the pinned rerun ($pinned)" "$T_WORK/done" "$before"
done
t_expect_exit 5 "${pull[@]}" --retries 0 --unpack "$rootfs" "$REG_MAIN_ADDR/unpack/img@sha256:$(printf x | sha256sum | cut -d' ' -f1)"
unchanged "a pinned rerun for another manifest, registry down" "$T_WORK/done" "$before"
t_ok "pinned by the marker's digest, with the registry stopped: exit 0; by another digest: exit 5, rootfs untouched"
t_pass
