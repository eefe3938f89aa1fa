#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job on an embedded default: installs what is missing, builds
# imgpull, starts a throwaway docker-registry on a free loopback port, seeds it
# with a generated image (layers of 256 MiB, 64 MiB and 8 MiB), pulls it into
# an OCI image layout with imgpull, and has skopeo read the result back.
# Everything it starts is stopped and removed on exit (KEEP=1 keeps the files).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
export IMGPULL_SRC=$PWD IMGPULL=$PWD/build/imgpull IMGPULL_WORK=${IMGPULL_WORK:-/tmp/imgpull-demo}
T_NAME=demo
source test/lib/common.sh
t_workdir demo
t_registry_start DEMO
t_make_image "$T_WORK/src" demo --layer 256M --layer 64M --layer 8M
t_push "$T_WORK/src" demo "$REG_DEMO_ADDR" demo/app:latest
ref="$REG_DEMO_ADDR/demo/app:latest"
echo
echo "\$ imgpull pull --dest $T_WORK/layout --plain-http $REG_DEMO_ADDR $ref"
"$IMGPULL" pull --dest "$T_WORK/layout" --plain-http "$REG_DEMO_ADDR" "$ref"
echo
echo "index.json:"
jq . "$T_WORK/layout/index.json"
echo
echo "skopeo reads it back:"
skopeo inspect --format 'digest {{.Digest}}, {{len .Layers}} layers, {{.Os}}/{{.Architecture}}' "oci:$T_WORK/layout:$ref"
