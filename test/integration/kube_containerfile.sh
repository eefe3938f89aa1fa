#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Containerfile built by a real engine: `podman build` (Debian 12's podman
# 4.3, as root, in a store of the test's own) from a Debian 12 base made here
# by mmdebstrap and imported with `podman import` (--build-arg BASE, as the
# Containerfile's comment says; both cached, test/lib/kube.sh), with
# scripts/static.sh's cache of dependencies mounted. The build has no network: the base holds the tools static.sh would
# install, and this machine's apt lists and deb-src entry are mounted read-only
# so that static.sh picks the versions of the dependencies that the host's
# static build picked (a fresh apt-get update could name newer ones). Its image
# holds the same files as the image scripts/image.sh assembles from the host's
# static build and the base's CA bundle: the same entries (type, mode, owner,
# link target), every file byte for byte (the binary too: one source, one
# dependency prefix, one compiler), the same user, entrypoint and OCI labels;
# its /imgpull runs under podman, and `imgpull idle` runs as uid 65532 on a
# read-only root and ends with 0 on podman's SIGTERM.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
source "$IMGPULL_SRC/test/lib/kube.sh"
t_workdir
static=$(ip_static_bin)
host_prefix=$(cat "$(dirname "$static")/.imgpull-static-prefix" 2>/dev/null) ||
  t_fail "$(dirname "$static")/.imgpull-static-prefix is missing: build $static with scripts/static.sh"

k_podman_setup
k_debian_base

# The build, as the Containerfile's comment runs it, with the cache static.sh
# keeps outside the clone; offline, with this machine's view of the archive.
static_cache=$(realpath -m "${IMGPULL_STATIC_CACHE:-/var/cache/imgpull-static}")
[[ -d "$static_cache" ]] || t_fail "no $static_cache: scripts/static.sh makes it"
src_list=/etc/apt/sources.list.d/imgpull-src.sources
[[ -f "$src_list" ]] || t_fail "no $src_list: scripts/static.sh writes it"
# Offline, apt gives up at once on a source the lists name but the cache lacks
# (static.sh then takes the version the host's build took; 8 s each otherwise).
echo 'Acquire::Retries "0";' >"$T_WORK/apt-offline.conf"
revision=$(git -C "$IMGPULL_SRC" rev-parse HEAD 2>/dev/null || echo unknown)
start=$SECONDS
(cd "$T_WORK" && podman build --network none -f "$IMGPULL_SRC/Containerfile" \
  --build-arg BASE="$K_BASE_IMAGE" --build-arg REVISION="$revision" \
  --volume "$static_cache:/var/cache/imgpull-static" \
  --volume /var/lib/apt/lists:/var/lib/apt/lists:ro --volume "$src_list:$src_list:ro" \
  --volume "$T_WORK/apt-offline.conf:/etc/apt/apt.conf.d/99imgpull-offline:ro" \
  -t localhost/imgpull:containerfile "$IMGPULL_SRC") \
  >"$T_WORK/build.log" 2>&1 || t_fail "podman build of the Containerfile failed: $(tail -n 30 "$T_WORK/build.log")"
t_log "podman build in $((SECONDS - start)) s"
built_prefix=$(sed -n 's/^static.sh: dependencies: \(cached\|building\) in\(to\)\? //p' "$T_WORK/build.log" | tail -n 1)
t_assert_eq "$built_prefix" "$host_prefix" \
  "the dependency prefix of the podman build (another one: the base's musl or gcc is not this machine's; apt-get update, apt-get upgrade, scripts/static.sh)"
t_ok "podman built the Containerfile from the mmdebstrap base (dependencies $built_prefix)"

# The reference: scripts/image.sh's image of the host's static build, with the
# CA bundle of the base (Debian's ca-certificates there, which the build stage
# copies; this machine's may be another version).
"$IMGPULL_SRC/scripts/image.sh" --binary "$static" --ca-bundle "$K_BASE_CA" --out "$T_WORK/oci" --tag test \
  >/dev/null 2>"$T_WORK/image.log" || t_fail "scripts/image.sh failed: $(cat "$T_WORK/image.log")"
blobs="$T_WORK/oci/blobs/sha256"
manifest=$(jq -r '.manifests[0].digest' "$T_WORK/oci/index.json")
config=$(jq -r '.config.digest' "$blobs/${manifest#sha256:}")
mkdir "$T_WORK/ref"
for layer in $(jq -r '.layers[].digest' "$blobs/${manifest#sha256:}"); do
  tar -xzpf "$blobs/${layer#sha256:}" --numeric-owner -C "$T_WORK/ref"
done

# The podman image's root: every entry as image.sh's, every file the same bytes.
mnt=$(podman image mount localhost/imgpull:containerfile 2>"$T_WORK/mount.err") ||
  t_fail "podman image mount failed: $(cat "$T_WORK/mount.err")"
k_tree "$T_WORK/ref" >"$T_WORK/ref.tree"
k_tree "$mnt" >"$T_WORK/built.tree"
[[ $(wc -l <"$T_WORK/ref.tree") -ge 5 ]] || t_fail "image.sh's image: $(cat "$T_WORK/ref.tree")"
diff -u "$T_WORK/ref.tree" "$T_WORK/built.tree" >"$T_WORK/tree.diff" ||
  t_fail "the Containerfile's image and image.sh's differ in their entries: $(cat "$T_WORK/tree.diff")"
n=0
while IFS=$'\t' read -r type _ _ _ path _; do
  [[ "$type" == f ]] || continue
  if ! cmp "$T_WORK/ref/$path" "$mnt/$path" >"$T_WORK/cmp.out"; then
    cp "$mnt/$path" "$T_WORK/built-${path//\//_}"
    t_fail "/$path differs between the Containerfile's image and image.sh's: $(cat "$T_WORK/cmp.out") (kept as $T_WORK/built-${path//\//_} with KEEP=1)"
  fi
  n=$((n + 1))
done <"$T_WORK/ref.tree"
t_assert_eq "$n" 2 "regular files compared (/imgpull and the CA bundle)"
podman image unmount localhost/imgpull:containerfile >/dev/null
t_ok "the same $(wc -l <"$T_WORK/ref.tree") entries, $n files byte for byte: $(cut -f 5 "$T_WORK/ref.tree" | tr '\n' ' ')"

# The configuration: user, entrypoint, the OCI labels both set (image.sh adds
# created; the Containerfile's source is empty unless given).
podman image inspect --format '{{json .Config}}' localhost/imgpull:containerfile >"$T_WORK/built.config"
jq -e --slurpfile ref "$blobs/${config#sha256:}" '
  def oci: with_entries(select((.key | startswith("org.opencontainers.image.")) and .value != ""
                               and .key != "org.opencontainers.image.created"));
  .User == $ref[0].config.User and .Entrypoint == $ref[0].config.Entrypoint and
  (.Labels | oci) == ($ref[0].config.Labels | oci) and (.Labels | oci | length) >= 5' \
  "$T_WORK/built.config" >/dev/null ||
  t_fail "configurations differ: $(cat "$T_WORK/built.config") vs $(jq -c .config "$blobs/${config#sha256:}")"
t_ok "user $(jq -r .User "$T_WORK/built.config"), entrypoint $(jq -c .Entrypoint "$T_WORK/built.config"), labels as image.sh's"

# It runs: `imgpull version`, and `imgpull idle` as uid 65532 until SIGTERM.
podman run --rm --network none localhost/imgpull:containerfile version >"$T_WORK/version.out" 2>&1 ||
  t_fail "the image's imgpull version: $(cat "$T_WORK/version.out")"
t_assert_file_contains "$T_WORK/version.out" "^imgpull [0-9.]+ .*gzip: isa-l" "the image's imgpull runs"
podman run -d --name idle --network none --read-only localhost/imgpull:containerfile idle >/dev/null 2>"$T_WORK/run.err" ||
  t_fail "podman run idle: $(cat "$T_WORK/run.err")"
idle_uid() { [[ $(podman top idle huser 2>/dev/null | tail -n +2 | tr -d ' ') == 65532 ]]; }
t_wait_until 10 idle_uid ||
  t_fail "idle's process as uid 65532: $(podman top idle huser 2>&1)"
podman stop -t 10 idle >/dev/null
t_assert_eq "$(podman inspect --format '{{.State.ExitCode}}' idle)" 0 "imgpull idle's exit after SIGTERM"
t_pass "podman $(podman version --format '{{.Client.Version}}') built the Containerfile; its image holds image.sh's files"
