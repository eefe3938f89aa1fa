#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# imgpull chart: Helm charts pushed to docker-registry per Helm's OCI spec (config
# application/vnd.cncf.helm.config.v1+json holding Chart.yaml's fields as helm
# writes them, the .tgz as the chart layer, a provenance layer) pull as `helm pull`
# writes them: NAME-VERSION.tgz byte-identical (+ .prov), --untar the chart's
# tree, a version with '+' (tag with '_'); a blob whose digest lies: exit 6; an
# image: exit 2; a missing version: exit 4; no credential: exit 3; a hostile
# archive under --untar: exit 6 with nothing outside the destination.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
t_workdir

t_registry_start MAIN --htpasswd helm:s3cret
addr=$REG_MAIN_ADDR
acc=(--plain-http "$addr" --creds helm:s3cret)

# push.py ADDR REPO TAG TGZ CONFIG_JSON [PROV] [CONFIG_MEDIA_TYPE]: blobs by monolithic
# upload, then the manifest as helm (ORAS) writes it; prints the manifest digest.
cat >"$T_WORK/push.py" <<'PY'
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["IMGPULL_SRC"], "test/lib"))
from regput import Registry
addr, repo, tag, tgz, cfg = sys.argv[1:6]
prov = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else None
cfg_type = sys.argv[7] if len(sys.argv) > 7 else "application/vnd.cncf.helm.config.v1+json"
reg = Registry(addr, "helm:s3cret")
c = reg.put_blob(repo, open(cfg, "rb").read(), cfg_type)
layers = [reg.put_blob(repo, open(tgz, "rb").read(), "application/vnd.cncf.helm.chart.content.v1.tar+gzip")]
if prov:
    layers.append(reg.put_blob(repo, open(prov, "rb").read(), "application/vnd.cncf.helm.chart.provenance.v1.prov"))
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c,
                "layers": layers, "annotations": {"org.opencontainers.image.title": json.load(open(cfg))["name"]}}).encode()
print(reg.put_manifest(repo, tag, m))
PY

# make_chart NAME VERSION: $T_WORK/src/NAME (Chart.yaml, values.yaml, templates/),
# $T_WORK/pkg/NAME-VERSION.tgz (tar czf of NAME/), its config JSON and a .prov.
make_chart() {
  local name=$1 version=$2 d="$T_WORK/src/$1"
  rm -rf "$d"
  mkdir -p "$d/templates" "$T_WORK/pkg"
  printf 'apiVersion: v2\nname: %s\nversion: %s\ndescription: a test chart\nappVersion: "1.0"\ntype: application\n' \
    "$name" "$version" >"$d/Chart.yaml"
  printf 'replicas: 2\nimage: nginx:1.27\n' >"$d/values.yaml"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  r: "{{ .Values.replicas }}"\n' \
    >"$d/templates/configmap.yaml"
  head -c 3000 /dev/urandom | base64 >"$d/templates/blob.txt"
  (cd "$T_WORK/src" && tar czf "$T_WORK/pkg/$name-$version.tgz" "$name/")
  # json.Marshal(chart.Metadata): Helm's field order, empty ones left out.
  printf '{"name":"%s","version":"%s","description":"a test chart","apiVersion":"v2","appVersion":"1.0","type":"application"}' \
    "$name" "$version" >"$T_WORK/pkg/$name-$version.json"
  printf -- '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: %s\nversion: %s\n' "$name" "$version" \
    >"$T_WORK/pkg/$name-$version.prov"
}
push() { # push REPO TAG NAME VERSION [--no-prov] [CONFIG_TYPE]
  local prov="$T_WORK/pkg/$3-$4.prov"
  [[ "${5:-}" != --no-prov ]] || prov=""
  "$T_PY" "$T_WORK/push.py" "$addr" "$1" "$2" "$T_WORK/pkg/$3-$4.tgz" "$T_WORK/pkg/$3-$4.json" "$prov" ${6:+"$6"} ||
    t_fail "pushing $1:$2 failed"
}

make_chart demo 0.1.0
mdg=$(push charts/demo 0.1.0 demo 0.1.0)

# As helm pull writes it: NAME-VERSION.tgz and its .prov, byte for byte.
out="$T_WORK/out"
t_expect_exit 0 "$IMGPULL" chart --dest "$out" "${acc[@]}" --version 0.1.0 \
  --termination-log "$T_WORK/term" --metrics "$T_WORK/metrics.prom" "oci://$addr/charts/demo"
cmp "$out/demo-0.1.0.tgz" "$T_WORK/pkg/demo-0.1.0.tgz" || t_fail "the .tgz differs from what was pushed"
cmp "$out/demo-0.1.0.tgz.prov" "$T_WORK/pkg/demo-0.1.0.prov" || t_fail "the .prov differs from what was pushed"
t_assert_eq "$(ls "$out" | tr '\n' ' ')" "demo-0.1.0.tgz demo-0.1.0.tgz.prov " "nothing else written"
t_assert_eq "$(tar xzOf "$out/demo-0.1.0.tgz" demo/Chart.yaml | sed -n 's/^name: //p')" demo "Chart.yaml name"
t_assert_eq "$(tar xzOf "$out/demo-0.1.0.tgz" demo/Chart.yaml | sed -n 's/^version: //p')" 0.1.0 "Chart.yaml version"
t_assert_file_contains "$T_OUT" "^Digest: $mdg$" "the manifest digest printed, as helm does"
t_assert_file_contains "$T_WORK/term" "^pulled chart demo 0.1.0" "termination message head"
t_assert_file_contains "$T_WORK/term" "charts/demo:0.1.0 $mdg" "termination message names the chart and digest"
t_assert_file_contains "$T_WORK/metrics.prom" '^imgpull_pull_success 1' "metrics: success"
t_ok "demo 0.1.0: .tgz and .prov byte-identical, termination message, metrics"

# The version in the reference, -d (helm's --destination), JSON logs; a rerun
# replaces the regular file.
t_expect_exit 0 "$IMGPULL" chart -d "$out" "${acc[@]}" --log-format json "oci://$addr/charts/demo:0.1.0"
cmp "$out/demo-0.1.0.tgz" "$T_WORK/pkg/demo-0.1.0.tgz" || t_fail "the .tgz differs after a rerun"
jq -e 'select(.msg == "pulled chart") | .digest == "'"$mdg"'"' "$T_ERR" >/dev/null ||
  t_fail "no JSON record of the pull: $(cat "$T_ERR")"
t_ok "oci://...:VERSION, -d, a JSON log record"

# A version with '+': the tag has '_', the file name keeps '+' as helm's does.
make_chart demo 0.2.0+build.5
push charts/demo 0.2.0_build.5 demo 0.2.0+build.5 --no-prov >/dev/null
t_expect_exit 0 "$IMGPULL" chart --dest "$out" "${acc[@]}" "oci://$addr/charts/demo:0.2.0+build.5"
cmp "$out/demo-0.2.0+build.5.tgz" "$T_WORK/pkg/demo-0.2.0+build.5.tgz" || t_fail "the '+' chart differs"
[[ ! -e "$out/demo-0.2.0+build.5.tgz.prov" ]] || t_fail "a .prov written where none was pushed"
t_assert_eq "$(tar xzOf "$out/demo-0.2.0+build.5.tgz" demo/Chart.yaml | sed -n 's/^version: //p')" 0.2.0+build.5 \
  "Chart.yaml version with +"
t_ok "0.2.0+build.5 pulled from tag 0.2.0_build.5"

# No exact version: the repository's tags looked up as helm does ('_' read as
# '+', tags that are not semver ignored): none gives the latest stable, a range
# the newest in it; a digest alone takes the version from the chart's config.
make_chart demo 0.3.0-rc.1
push charts/demo 0.3.0-rc.1 demo 0.3.0-rc.1 --no-prov >/dev/null
push charts/demo latest demo 0.1.0 --no-prov >/dev/null
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/lk1" "${acc[@]}" "oci://$addr/charts/demo"
t_assert_eq "$(ls "$T_WORK/lk1")" "demo-0.2.0+build.5.tgz" "the latest stable version"
cmp "$T_WORK/lk1/demo-0.2.0+build.5.tgz" "$T_WORK/pkg/demo-0.2.0+build.5.tgz" || t_fail "the latest differs"
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/lk2" "${acc[@]}" --version '~0.1' "oci://$addr/charts/demo"
t_assert_eq "$(ls "$T_WORK/lk2" | tr '\n' ' ')" "demo-0.1.0.tgz demo-0.1.0.tgz.prov " "~0.1"
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/lk3" "${acc[@]}" --version '>=0.3.0-0' "oci://$addr/charts/demo"
t_assert_eq "$(ls "$T_WORK/lk3")" "demo-0.3.0-rc.1.tgz" "a prerelease range"
t_expect_exit 4 "$IMGPULL" chart --dest "$T_WORK/lk4" "${acc[@]}" --version '>=5' "oci://$addr/charts/demo"
t_assert_file_contains "$T_ERR" "charts/demo \(4 tags\)" "the reason names the chart and its tags"
t_expect_exit 2 "$IMGPULL" chart --dest "$T_WORK/lk4" "${acc[@]}" --version '>>5' "oci://$addr/charts/demo"
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/dg" "${acc[@]}" "oci://$addr/charts/demo@$mdg"
t_assert_eq "$(ls "$T_WORK/dg" | tr '\n' ' ')" "demo-0.1.0.tgz demo-0.1.0.tgz.prov " "by digest: the config's version"
cmp "$T_WORK/dg/demo-0.1.0.tgz" "$T_WORK/pkg/demo-0.1.0.tgz" || t_fail "the chart by digest differs"
t_expect_exit 4 "$IMGPULL" chart --dest "$T_WORK/dg2" "${acc[@]}" "oci://$addr/charts/demo@sha256:$(printf '%064d' 0)"
t_ok "no version: latest stable; ~0.1, >=0.3.0-0; none in range: exit 4; @sha256: by digest"

# --untar: the chart's tree under DEST/UNTARDIR/NAME, nothing else; never over
# what is there (exit 7, as helm refuses too).
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/ut" --untar --untardir sub "${acc[@]}" "oci://$addr/charts/demo:0.1.0"
t_assert_eq "$(ls -A "$T_WORK/ut/sub" | tr '\n' ' ')" "demo " "--untar leaves the chart directory alone"
mkdir -p "$T_WORK/expect" && tar xzf "$T_WORK/pkg/demo-0.1.0.tgz" -C "$T_WORK/expect"
diff -r "$T_WORK/ut/sub/demo" "$T_WORK/expect/demo" || t_fail "--untar's tree differs from the chart's"
t_expect_exit 7 "$IMGPULL" chart --dest "$T_WORK/ut" --untar --untardir sub "${acc[@]}" "oci://$addr/charts/demo:0.1.0"
t_assert_file_contains "$T_ERR" "exists already" "the reason"
diff -r "$T_WORK/ut/sub/demo" "$T_WORK/expect/demo" || t_fail "a refused --untar changed the tree"
t_ok "--untar --untardir: the chart's tree; a second one refused (exit 7)"

# A hostile chart archive under --untar: "../" and an absolute name: exit 6,
# nothing outside the destination.
mkdir -p "$T_WORK/evil"
"$T_PY" - "$T_WORK/pkg/evil-1.0.0.tgz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    for name, data in (("evil/Chart.yaml", b"name: evil\nversion: 1.0.0\n"), ("evil/../../escaped", b"x")):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
PY
printf '{"name":"evil","version":"1.0.0","apiVersion":"v2"}' >"$T_WORK/pkg/evil-1.0.0.json"
push charts/evil 1.0.0 evil 1.0.0 --no-prov >/dev/null
t_expect_exit 6 "$IMGPULL" chart --dest "$T_WORK/evil/d" --untar "${acc[@]}" "oci://$addr/charts/evil:1.0.0"
[[ ! -e "$T_WORK/evil/escaped" && ! -e "$T_WORK/escaped" ]] || t_fail "an entry escaped the destination"
t_assert_eq "$(ls -A "$T_WORK/evil/d")" "" "nothing left in the destination"
t_ok "a '..' entry under --untar: exit 6, nothing written ($(tail -1 "$T_ERR"))"

# An archive that is not NAME/ alone (a stray file beside it): exit 6, nothing made.
"$T_PY" - "$T_WORK/pkg/stray-1.0.0.tgz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    for name, data in (("stray/Chart.yaml", b"name: stray\nversion: 1.0.0\n"), ("README.md", b"x")):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
PY
printf '{"name":"stray","version":"1.0.0","apiVersion":"v2"}' >"$T_WORK/pkg/stray-1.0.0.json"
push charts/stray 1.0.0 stray 1.0.0 --no-prov >/dev/null
t_expect_exit 6 "$IMGPULL" chart --dest "$T_WORK/stray" --untar "${acc[@]}" "oci://$addr/charts/stray:1.0.0"
t_assert_file_contains "$T_ERR" "holds 'README.md' and more, not the directory 'stray' alone" "the reason"
t_assert_eq "$(ls -A "$T_WORK/stray")" "" "nothing left in the destination"
t_ok "an archive with more than NAME/ under --untar: exit 6"

# A blob whose digest lies (its bytes changed in the registry's storage): exit 6,
# no file. Likewise a blob longer than its descriptor.
make_chart liar 1.0.0
push charts/liar 1.0.0 liar 1.0.0 --no-prov >/dev/null
ldg=$(t_sha256 "$T_WORK/pkg/liar-1.0.0.tgz")
blob=$(t_blob_path "$REG_MAIN_ROOT" "$ldg")
[[ -f "$blob" ]] || t_fail "no blob at $blob"
printf '\x00' | dd of="$blob" bs=1 seek=100 conv=notrunc status=none
t_expect_exit 6 "$IMGPULL" chart --dest "$T_WORK/lie" "${acc[@]}" --termination-log "$T_WORK/term6" \
  "oci://$addr/charts/liar:1.0.0"
t_assert_file_contains "$T_ERR" "has digest sha256:" "the reason names the digest"
t_assert_file_contains "$T_WORK/term6" "^error: integrity \(exit 6\)" "termination message on failure"
[[ ! -e "$T_WORK/lie/liar-1.0.0.tgz" ]] || t_fail "a chart with a lying digest was written"
printf 'more' >>"$blob"
t_expect_exit 6 "$IMGPULL" chart --dest "$T_WORK/lie" "${acc[@]}" "oci://$addr/charts/liar:1.0.0"
[[ ! -e "$T_WORK/lie/liar-1.0.0.tgz" ]] || t_fail "a chart longer than its descriptor was written"
t_ok "a lying digest and a longer blob: exit 6, nothing written"

# Not a Helm chart: an image (exit 2, saying so); a config of another type too.
t_make_image "$T_WORK/img" v1 --layer 10K
t_push "$T_WORK/img" v1 "$addr" charts/image:1.0.0
t_expect_exit 2 "$IMGPULL" chart --dest "$T_WORK/img-out" "${acc[@]}" "oci://$addr/charts/image:1.0.0"
t_assert_file_contains "$T_ERR" "is not a Helm chart" "the reason"
make_chart other 1.0.0
push charts/other 1.0.0 other 1.0.0 --no-prov application/vnd.example.config+json >/dev/null
t_expect_exit 2 "$IMGPULL" chart --dest "$T_WORK/img-out" "${acc[@]}" "oci://$addr/charts/other:1.0.0"
t_assert_file_contains "$T_ERR" "application/vnd.example.config\+json" "the config type named"
t_ok "an image and another artifact: exit 2"

# A version that is not there: exit 4; no credential: exit 3; chart repositories
# and --repo: exit 2, not yet.
t_expect_exit 4 "$IMGPULL" chart --dest "$out" "${acc[@]}" "oci://$addr/charts/demo:9.9.9"
t_expect_exit 3 "$IMGPULL" chart --dest "$out" --plain-http "$addr" "oci://$addr/charts/demo:0.1.0"
# Credentials per artifact type: a registryCredentials entry serving HELM serves
# charts; one serving CONTAINER only does not (exit 3, naming it).
b64=$(printf 'helm:s3cret' | base64 -w0)
jq -n --arg h "$addr" --arg v "$b64" '{registryCredentials: [
    {registryHostname: $h, secret: {name: "charts", value: $v}, artifactTypes: ["HELM"]}]}' >"$T_WORK/rc-helm.json"
jq -n --arg h "$addr" --arg v "$b64" '{registryCredentials: [
    {registryHostname: $h, secret: {name: "images", value: $v}, artifactTypes: ["CONTAINER"]}]}' >"$T_WORK/rc-ctr.json"
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/rc" --plain-http "$addr" --secret "$T_WORK/rc-helm.json" \
  "oci://$addr/charts/demo:0.1.0"
cmp "$T_WORK/rc/demo-0.1.0.tgz" "$T_WORK/pkg/demo-0.1.0.tgz" || t_fail "the chart through a HELM entry differs"
t_expect_exit 3 "$IMGPULL" chart --dest "$T_WORK/rc2" --plain-http "$addr" --secret "$T_WORK/rc-ctr.json" \
  "oci://$addr/charts/demo:0.1.0"
t_assert_file_contains "$T_ERR" "for charts found for hostname $addr" "the error says no credential serves charts"
t_assert_file_contains "$T_ERR" "serves CONTAINER only" "and names the CONTAINER-only entry"
t_ok "a HELM entry serves charts, a CONTAINER-only one does not (exit 3)"

t_expect_exit 2 "$IMGPULL" chart --dest "$out" --version 1 "https://helm.ngc.nvidia.com/nvidia/gpu-operator"
t_assert_file_contains "$T_ERR" "given with --repo URL" "chart repositories: --repo URL NAME"
t_expect_exit 2 "$IMGPULL" chart --dest "$out" "oci://$addr/charts/demo" --version 0.1.0
t_assert_file_contains "$T_ERR" "options go before it" "an option after the chart"
t_expect_exit 0 "$IMGPULL" help chart
t_assert_file_contains "$T_OUT" "IMGPULL_DESTINATION" "help lists the options and variables"
t_ok "missing version: 4, no credential: 3, https:// as the chart: 2"
t_pass
