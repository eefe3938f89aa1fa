#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/image.sh [--binary PATH] [--ca-bundle PATH] [--out DIR] [--tag TAG] [--push DEST [SKOPEO ARGS...]]
#
# Assembles imgpull's container image without a container daemon, directly as an
# OCI image layout: the same image the Containerfile builds (FROM scratch, the
# static binary as /imgpull, the CA bundle as /etc/ssl/certs/ca-certificates.crt,
# USER 65532, ENTRYPOINT ["/imgpull"], OCI labels). Deterministic: the layer is a
# tar with sorted entries, fixed mtimes (the commit's time), uid/gid 0 and fixed
# modes, gzipped without a name or time; config and manifest are canonical JSON.
# Two builds from the same commit give the same manifest digest.
#
#   --binary PATH  the static imgpull (default: build it with scripts/static.sh)
#   --ca-bundle PATH  the CA bundle to ship (default /etc/ssl/certs/ca-certificates.crt,
#                  Debian's ca-certificates on this machine)
#   --out DIR      the OCI layout to write (default build-image/oci); replaced
#   --tag TAG      its tag in the layout (default the project version)
#   --push DEST    then copy it with skopeo to DEST (e.g. docker://registry/imgpull:TAG),
#                  passing the remaining arguments to skopeo copy
# Prints the manifest digest on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

binary="" ca=/etc/ssl/certs/ca-certificates.crt out="build-image/oci" tag="" push=""
push_args=()
while (($#)); do
	case $1 in
	--binary) binary=$2; shift 2 ;;
	--ca-bundle) ca=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--tag) tag=$2; shift 2 ;;
	--push) push=$2; shift 2; push_args=("$@"); break ;;
	*) echo "usage: scripts/image.sh [--binary PATH] [--ca-bundle PATH] [--out DIR] [--tag TAG] [--push DEST [SKOPEO ARGS...]]" >&2; exit 2 ;;
	esac
done
version=$(sed -n 's/^project(imgpull VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[[ -n "$tag" ]] || tag=$version
if [[ -z "$binary" ]]; then
	scripts/static.sh >&2
	binary=build-static/imgpull
fi
[[ -x "$binary" ]] || { echo "image.sh: $binary is not an executable" >&2; exit 1; }
for t in jq tar gzip sha256sum; do
	command -v "$t" >/dev/null || { echo "image.sh: $t is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
[[ -f "$ca" && -s "$ca" ]] || { echo "image.sh: no CA bundle at $ca (apt-get install ca-certificates)" >&2; exit 1; }

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
source_url=$(git config --get remote.origin.url 2>/dev/null || true)
case $source_url in https://*) ;; *) source_url="" ;; esac # never a local path or credentials

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/etc/ssl/certs"
install -m 0755 "$binary" "$root/imgpull"
install -m 0644 "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
chmod 0755 "$root/etc" "$root/etc/ssl" "$root/etc/ssl/certs"

# The layer: sorted, fixed time and owner, no pax headers with times.
tar --sort=name --format=gnu --numeric-owner --owner=0 --group=0 --mtime="@$epoch" \
	-C "$root" -cf "$work/layer.tar" imgpull etc
gzip -n -9 -c "$work/layer.tar" >"$work/layer.tar.gz"
diff_id="sha256:$(sha256sum <"$work/layer.tar" | cut -d' ' -f1)"
layer_digest="sha256:$(sha256sum <"$work/layer.tar.gz" | cut -d' ' -f1)"
layer_size=$(stat -c %s "$work/layer.tar.gz")

jq -cnS --arg created "$created" --arg diff "$diff_id" --arg version "$version" --arg rev "$revision" \
	--arg src "$source_url" '{
	architecture: "amd64", os: "linux", created: $created,
	config: {
		User: "65532:65532",
		Entrypoint: ["/imgpull"],
		Labels: ({
			"org.opencontainers.image.title": "imgpull",
			"org.opencontainers.image.description": "A fast, verifying container image puller for GPU inference nodes",
			"org.opencontainers.image.version": $version,
			"org.opencontainers.image.revision": $rev,
			"org.opencontainers.image.created": $created,
			"org.opencontainers.image.licenses": "Apache-2.0"
		} + (if $src == "" then {} else {"org.opencontainers.image.source": $src} end))
	},
	rootfs: {type: "layers", diff_ids: [$diff]},
	history: [{created: $created, created_by: "scripts/image.sh: /imgpull and a CA bundle"}]
}' >"$work/config.json"
config_digest="sha256:$(sha256sum <"$work/config.json" | cut -d' ' -f1)"
config_size=$(stat -c %s "$work/config.json")

jq -cnS --arg cd "$config_digest" --argjson cs "$config_size" --arg ld "$layer_digest" --argjson ls "$layer_size" \
	--arg version "$version" --arg rev "$revision" --arg created "$created" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
	layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}],
	annotations: {
		"org.opencontainers.image.version": $version,
		"org.opencontainers.image.revision": $rev,
		"org.opencontainers.image.created": $created
	}
}' >"$work/manifest.json"
manifest_digest="sha256:$(sha256sum <"$work/manifest.json" | cut -d' ' -f1)"
manifest_size=$(stat -c %s "$work/manifest.json")

rm -rf "$out"
mkdir -p "$out/blobs/sha256"
cp "$work/layer.tar.gz" "$out/blobs/sha256/${layer_digest#sha256:}"
cp "$work/config.json" "$out/blobs/sha256/${config_digest#sha256:}"
cp "$work/manifest.json" "$out/blobs/sha256/${manifest_digest#sha256:}"
printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
jq -cnS --arg md "$manifest_digest" --argjson ms "$manifest_size" --arg tag "$tag" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
		platform: {architecture: "amd64", os: "linux"},
		annotations: {"org.opencontainers.image.ref.name": $tag}}]
}' >"$out/index.json"
echo "image.sh: $out:$tag $manifest_digest (layer $layer_size bytes, binary $(stat -c %s "$binary") bytes)" >&2

if [[ -n "$push" ]]; then
	skopeo copy --quiet "${push_args[@]}" "oci:$out:$tag" "$push" >&2
	echo "image.sh: pushed to $push" >&2
fi
echo "$manifest_digest"
