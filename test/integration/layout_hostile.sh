#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A hostile layout: imgpull never follows a symbolic link inside it and never
# reads anything but a regular file there.
# - A FIFO, or a link to /dev/zero, under a blob's name in blobs/sha256: verify
#   ends promptly (it used to hang), names it (exit 6), --repair removes the
#   entry itself and never a link's target; in place of a layer an image needs,
#   the image is dropped and the next pull fetches the layer again.
# - In ingest/, a link as a blob's partial file and a FIFO as its progress
#   record: the pull neither writes through the link nor waits on the FIFO.
# - index.json or ingest/unsynced as a FIFO: verify, gc and pull end promptly.
# - blobs/sha256, blobs/ or ingest/ a link to a directory of hex-named files:
#   gc refuses the layout (exit 6) and removes nothing there (it used to delete
#   them); verify and pull refuse it too.
# - index.json that is not JSON, or not an image index: exit 6 (the layout is
#   damaged) from pull, verify and gc alike (pull said 7, or replaced a
#   "manifests" that was no array).
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

t_registry_start MAIN
t_make_image "$T_WORK/src" v1 --layer 256K --layer 64K
img=$T_IMG_MANIFEST
read -r l1 l2 <<<"$T_IMG_LAYERS"
t_push "$T_WORK/src" v1 "$REG_MAIN_ADDR" team/app:v1
ref="$REG_MAIN_ADDR/team/app:v1"
dest="$T_WORK/layout"
pull=("$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress plain --dest "$dest" "$ref")
blobs="$dest/blobs/sha256"
hex1=1111111111111111111111111111111111111111111111111111111111111111
hex2=2222222222222222222222222222222222222222222222222222222222222222
hex3=3333333333333333333333333333333333333333333333333333333333333333

# bounded CODE CMD...: CMD exits CODE within 20 s (timeout's 124 says it hung).
bounded() {
  local want=$1
  shift
  t_expect_exit "$want" timeout 20 "$@"
}

t_expect_exit 0 "${pull[@]}"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"

# --- a FIFO and a link to /dev/zero under blob names that no image needs
mkfifo "$blobs/$hex1"
ln -s /dev/zero "$blobs/$hex2"
echo "outside the layout" >"$T_WORK/target"
ln -s "$T_WORK/target" "$blobs/$hex3"
bounded 6 "$IMGPULL" verify --dest "$dest"
t_assert_file_contains "$T_OUT" "^special  sha256:$hex1 is a FIFO, not a regular file" "the FIFO is named"
t_assert_file_contains "$T_OUT" "^special  sha256:$hex2 is a symbolic link, not a regular file" "the link to /dev/zero is named"
t_assert_file_contains "$T_OUT" "^special  sha256:$hex3 is a symbolic link" "the link to a file is named"
t_assert_file_contains "$T_OUT" "0 damaged, 0 missing, 3 not regular files" "summary"
[[ -p "$blobs/$hex1" && -L "$blobs/$hex2" && -L "$blobs/$hex3" ]] || t_fail "verify without --repair changed blobs/"
t_ok "verify names a FIFO and links in blobs/sha256 without reading them (exit 6, no hang)"

bounded 6 "$IMGPULL" verify --dest "$dest" --repair
for h in $hex1 $hex2 $hex3; do
  t_assert_file_contains "$T_OUT" "^removed  sha256:$h" "repair removes $h"
  [[ ! -e "$blobs/$h" && ! -L "$blobs/$h" ]] || t_fail "$h is still in blobs/sha256"
done
t_assert_eq "$(cat "$T_WORK/target")" "outside the layout" "the link's target is left as it was"
[[ -c /dev/zero ]] || t_fail "/dev/zero is gone"
t_assert_eq "$(jq '.manifests | length' "$dest/index.json")" 1 "no image lost a blob: nothing dropped"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"
t_ok "--repair removes the entries themselves, never a link's target"

# gc: the same entries are leftovers, removed as entries (never followed).
mkfifo "$blobs/$hex1"
ln -s "$T_WORK/target" "$blobs/$hex3"
bounded 0 "$IMGPULL" gc --dest "$dest"
t_assert_file_contains "$T_OUT" "^removed leftover sha256:$hex1 \(a FIFO, " "gc removes the FIFO"
t_assert_file_contains "$T_OUT" "^removed leftover sha256:$hex3 \(a symbolic link, not followed" "gc removes the link"
[[ ! -e "$blobs/$hex1" && ! -L "$blobs/$hex3" ]] || t_fail "gc left the FIFO or the link"
t_assert_eq "$(cat "$T_WORK/target")" "outside the layout" "gc leaves the link's target"
t_ok "gc removes a FIFO and a link in blobs/ as leftovers, not their targets"

# --- a FIFO in place of a layer an image needs: verify names it, --repair drops
# the image, the next pull fetches the layer again and the layout is whole.
rm "$blobs/${l2#sha256:}"
mkfifo "$blobs/${l2#sha256:}"
bounded 6 "$IMGPULL" verify --dest "$dest" --repair
t_assert_file_contains "$T_OUT" "^special  $l2 is a FIFO" "the FIFO in the layer's place is named"
t_assert_file_contains "$T_OUT" "^dropped  $ref from index.json" "the image that needs it is dropped"
[[ ! -e "$blobs/${l2#sha256:}" ]] || t_fail "the FIFO is still there"
bounded 0 "${pull[@]}"
t_assert_file_contains "$T_ERR" "^done $l2" "the layer is fetched again"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"
ip_skopeo_check "$dest" "$ref" "$img"

# --- a download's leftovers in ingest/ that are no files: a link in place of the
# partial file and a FIFO in place of its progress record. The pull neither
# writes through the link (it used to truncate and fill its target) nor waits
# on the FIFO; it fetches the layer afresh.
rm "$blobs/${l1#sha256:}"
echo "precious" >"$T_WORK/victim"
ln -s "$T_WORK/victim" "$dest/ingest/${l1#sha256:}.partial"
mkfifo "$dest/ingest/${l1#sha256:}.progress"
bounded 0 "${pull[@]}"
t_assert_file_contains "$T_ERR" "^done $l1" "the layer is fetched again"
t_assert_eq "$(cat "$T_WORK/victim")" "precious" "the link's target is untouched"
[[ ! -e "$dest/ingest/${l1#sha256:}.progress" && ! -L "$dest/ingest/${l1#sha256:}.partial" ]] ||
  t_fail "the link or the FIFO is still in ingest/"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"
t_ok "a link as a partial file and a FIFO as its record: removed, the layer fetched afresh"

# --- index.json, ingest/unsynced as FIFOs: nothing waits on them
mv "$dest/index.json" "$T_WORK/index.json.good"
mkfifo "$dest/index.json"
bounded 6 "$IMGPULL" verify --dest "$dest"
t_assert_file_contains "$T_ERR" "index.json' is a FIFO, not a regular file: the layout is damaged" "verify: index.json a FIFO"
bounded 6 "$IMGPULL" gc --dest "$dest"
bounded 6 "${pull[@]}"
t_assert_file_contains "$T_ERR" "index.json' is a FIFO" "pull: index.json a FIFO"
rm "$dest/index.json"
mv "$T_WORK/index.json.good" "$dest/index.json"
rm -f "$dest/ingest/unsynced"
mkfifo "$dest/ingest/unsynced"
bounded 6 "${pull[@]}"
t_assert_file_contains "$T_ERR" "ingest/unsynced' is a FIFO" "pull names the FIFO journal"
bounded 0 "$IMGPULL" gc --dest "$dest"
t_assert_file_contains "$T_OUT" "^removed leftover unsynced \(a FIFO" "gc removes the FIFO journal"
bounded 0 "${pull[@]}"
t_ok "index.json and the journal as FIFOs: exit 6 at once; gc clears the journal's"

# --- blobs/sha256 a link to a directory of hex-named files: gc removes nothing
snap() { (cd "$1" && find . -printf '%p %y %s\n' | sort | sha256sum); }
outside="$T_WORK/outside"
mv "$blobs" "$outside"
for h in $hex1 $hex2 $hex3; do echo "someone else's $h" >"$outside/$h"; done
ln -s "$outside" "$blobs"
before=$(snap "$outside")
bounded 6 "$IMGPULL" gc --dest "$dest"
t_assert_file_contains "$T_ERR" "nothing removed: .*blobs/sha256' is a symbolic link, not a directory: the layout is damaged" "gc says why"
t_assert_eq "$(snap "$outside")" "$before" "gc left every file of the linked directory"
bounded 6 "$IMGPULL" gc --dest "$dest" --dry-run
bounded 6 "$IMGPULL" verify --dest "$dest" --repair
t_assert_file_contains "$T_ERR" "blobs/sha256' is a symbolic link" "verify says why"
bounded 6 "${pull[@]}"
t_assert_file_contains "$T_ERR" "blobs/sha256' is a symbolic link" "pull refuses the layout"
t_assert_eq "$(snap "$outside")" "$before" "nothing in the linked directory changed"
t_ok "a linked blobs/sha256 is never walked: gc, verify and pull exit 6, nothing removed"

# blobs/ itself a link: the same.
rm "$blobs"
mkdir "$T_WORK/outside-blobs"
mv "$outside" "$T_WORK/outside-blobs/sha256"
rmdir "$dest/blobs"
ln -s "$T_WORK/outside-blobs" "$dest/blobs"
before=$(snap "$T_WORK/outside-blobs")
bounded 6 "$IMGPULL" gc --dest "$dest"
t_assert_file_contains "$T_ERR" "nothing removed" "gc removes nothing"
t_assert_eq "$(snap "$T_WORK/outside-blobs")" "$before" "gc left the linked blobs/ alone"
bounded 6 "$IMGPULL" verify --dest "$dest"
rm "$dest/blobs"
mv "$T_WORK/outside-blobs" "$dest/blobs"
for h in $hex1 $hex2 $hex3; do rm "$dest/blobs/sha256/$h"; done
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"

# ingest/ a link to a directory of old partial downloads: gc removes nothing.
mkdir "$T_WORK/outside-ingest"
for h in $hex1 $hex2; do
  echo partial >"$T_WORK/outside-ingest/$h.partial"
  touch -d '3 days ago' "$T_WORK/outside-ingest/$h.partial"
done
rm -rf "$dest/ingest"
ln -s "$T_WORK/outside-ingest" "$dest/ingest"
before=$(snap "$T_WORK/outside-ingest")
bounded 6 "$IMGPULL" gc --dest "$dest" --partial-age 1h
t_assert_file_contains "$T_ERR" "nothing removed: .*ingest' is a symbolic link, not a directory" "gc says why"
t_assert_eq "$(snap "$T_WORK/outside-ingest")" "$before" "gc left the linked ingest/ alone"
bounded 6 "${pull[@]}"
rm "$dest/ingest"
t_ok "a linked blobs/ or ingest/: exit 6, nothing removed"

# --- index.json that is not JSON: the layout is damaged (6) for all three
t_expect_exit 0 "${pull[@]}"
cp "$dest/index.json" "$T_WORK/index.json.good"
printf '{"manifests": [' >"$dest/index.json"
t_expect_exit 6 "${pull[@]}"
t_assert_file_contains "$T_ERR" "index.json' is not valid JSON: the layout is damaged" "pull"
t_assert_eq "$(cat "$dest/index.json")" '{"manifests": [' "pull left index.json as it was"
t_expect_exit 6 "$IMGPULL" verify --dest "$dest"
t_assert_file_contains "$T_ERR" "index.json' is not valid JSON" "verify"
t_expect_exit 6 "$IMGPULL" gc --dest "$dest"
t_assert_file_contains "$T_ERR" "nothing removed: .*index.json' is not valid JSON" "gc"
echo '[1, 2]' >"$dest/index.json"
t_expect_exit 6 "${pull[@]}"
t_assert_file_contains "$T_ERR" "index.json' is not an OCI image index" "pull: JSON but not an index"
t_expect_exit 6 "$IMGPULL" verify --dest "$dest"
t_expect_exit 6 "$IMGPULL" gc --dest "$dest"
cp "$T_WORK/index.json.good" "$dest/index.json"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"
t_ok "a garbage index.json: exit 6 from pull, verify and gc"
t_pass
