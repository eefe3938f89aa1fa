#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# imgpull verify finds blobs damaged or removed behind imgpull's back, changes
# nothing without --repair, and with --repair removes the damaged ones and drops
# the index entries that lost a blob, so that the next pull heals the layout
# (fetching only what is gone) and index.json never names an incomplete image.
# A blob listed as unsynced from another boot is re-verified the same way when
# a pull opens the layout.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

t_registry_start MAIN
ip_push_image "$REG_MAIN_ADDR" team/app:v1 --layer 2M --layer 1M --layer 300K
read -r l1 l2 l3 <<<"$T_IMG_LAYERS"
dest="$T_WORK/layout"
pull=("$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress plain --dest "$dest" "$ref")
blob() { echo "$dest/blobs/sha256/${1#sha256:}"; }
# flip FILE OFFSET: invert one byte in place (same size, surely different content).
flip() { "$T_PY" -c 'import sys; f = open(sys.argv[1], "r+b"); o = int(sys.argv[2]); f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"; }

t_expect_exit 0 "${pull[@]}"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"
t_assert_file_contains "$T_OUT" "^verified 5 blobs .* and 1 images .*: 0 damaged, 0 missing" "a whole layout verifies"

# Damage: one layer changed in place (same size), another removed, a stray file.
flip "$(blob "$l1")" 4096
rm "$(blob "$l2")"
echo junk >"$dest/blobs/sha256/notablob"
snapshot() { (cd "$dest" && find . -type f -printf '%p %s %T@\n' | sort && sha256sum index.json); }
before=$(snapshot)
t_expect_exit 6 "$IMGPULL" verify --dest "$dest"
t_assert_file_contains "$T_OUT" "^damaged  $l1 \(its content hashes to sha256:" "the damaged layer is named"
t_assert_file_contains "$T_OUT" "^missing  $l2 needed by $ref \(absent\)" "the removed layer is named with its image"
t_assert_file_contains "$T_OUT" "^stray    blobs/sha256/notablob" "a stray file is reported"
t_assert_file_contains "$T_OUT" "1 damaged, 1 missing" "summary"
t_assert_file_contains "$T_ERR" "^imgpull: error: .*1 damaged and 1 missing blobs" "one error line"
t_assert_eq "$(snapshot)" "$before" "verify without --repair changes nothing"

t_expect_exit 6 "$IMGPULL" verify --dest "$dest" --repair
t_assert_file_contains "$T_OUT" "^removed  $l1" "repair removes the damaged blob"
t_assert_file_contains "$T_OUT" "^dropped  $ref from index.json" "repair drops the incomplete image"
[[ ! -e "$(blob "$l1")" ]] || t_fail "the damaged blob is still there"
t_assert_eq "$(jq '.manifests | length' "$dest/index.json")" 0 "index.json names no incomplete image"
rm "$dest/blobs/sha256/notablob"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"
t_ok "after --repair the layout is consistent"

# The next pull fetches exactly the two missing layers and heals the layout.
t_expect_exit 0 "${pull[@]}"
fetched=$(grep -c '^done ' "$T_ERR" || true)
t_assert_eq "$fetched" 2 "the pull after repair fetches only the two missing blobs"
t_assert_file_contains "$T_ERR" "^exists $l3" "intact blobs are kept"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"
ip_check_layout "$dest"
ip_skopeo_check "$dest" "$ref" "$img"

# A blob that a crash may have left unwritten (listed as unsynced in another
# boot) and that is indeed damaged: the next pull's open removes it, drops the
# image from index.json, and fetches it again.
flip "$(blob "$l3")" 100
echo "some-earlier-boot $l3" >>"$dest/ingest/unsynced"
t_expect_exit 0 "${pull[@]}"
t_assert_file_contains "$T_ERR" "^done $l3" "the damaged unsynced blob was fetched again"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"
ip_skopeo_check "$dest" "$ref" "$img"

# verify never creates a layout, and wants one.
t_expect_exit 4 "$IMGPULL" verify --dest "$T_WORK/nothing"
[[ ! -e "$T_WORK/nothing" ]] || t_fail "verify created a directory"
t_expect_exit 2 "$IMGPULL" verify --dest ""
t_expect_exit 2 "$IMGPULL" verify
t_pass
