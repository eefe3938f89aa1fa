#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# imgpull chart --repo: a classic chart repository served by nginx behind Basic
# auth (NGC's form: user $oauthtoken, the API key as password), its index.yaml
# in the format `helm repo index` writes (several charts, several versions,
# relative and absolute URLs, one on another host). The right version for an
# exact version, a range and none (the latest stable); the .tgz byte-identical;
# the credential sent to the repository's origin only; a wrong digest: exit 6;
# a 401 names the host and the credential's kind (exit 3); HELM-only and
# CONTAINER-only entries; --untar; metrics and the termination message.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
t_workdir
"$T_PY" -c 'import yaml' || t_fail "python3-yaml is missing (apt-get install -y python3-yaml)"

key='nvapi-Th1s1sN0tAR3alK3y'
htpasswd -bc "$T_WORK/htpasswd" '$oauthtoken' "$key" 2>/dev/null
mkdir -p "$T_WORK/repo/charts" "$T_WORK/repo/abs" "$T_WORK/cdn"
t_nginx_blobstore_start REPO "$T_WORK/repo" --htpasswd "$T_WORK/htpasswd"
t_nginx_blobstore_start CDN "$T_WORK/cdn"
repo_url="$BLOB_REPO_URL/nvidia"
ln -s . "$T_WORK/repo/nvidia" # the repository's path: https://helm.ngc.nvidia.com/ORG

# make_chart NAME VERSION DIR: DIR/NAME-VERSION.tgz as helm package makes it.
make_chart() {
  local name=$1 version=$2 d="$T_WORK/src/$1"
  rm -rf "$d"
  mkdir -p "$d/templates" "$3"
  printf 'apiVersion: v2\nname: %s\nversion: %s\ndescription: a test chart\ntype: application\n' "$name" "$version" \
    >"$d/Chart.yaml"
  printf 'replicas: 2\n' >"$d/values.yaml"
  head -c 2000 /dev/urandom | base64 >"$d/templates/notes.txt"
  (cd "$T_WORK/src" && tar czf "$3/$name-$version.tgz" "$name/")
}
make_chart demo 0.1.0 "$T_WORK/repo/charts"
make_chart demo 0.2.0 "$T_WORK/repo/abs"
make_chart demo 1.0.0 "$T_WORK/cdn"
make_chart demo 1.1.0 "$T_WORK/repo/charts"
make_chart demo 1.2.0-rc.1 "$T_WORK/repo/charts"
make_chart demo 2.0.0-beta.1 "$T_WORK/repo/charts"
make_chart tools 3.0.0 "$T_WORK/repo/charts"
make_chart tools 3.1.0 "$T_WORK/repo/charts"
make_chart stray 1.0.0 "$T_WORK/repo/charts"

# index.yaml as helm repo index writes it: entries sorted by name, versions
# newest first, keys sorted, created/digest/urls per version. tools 3.1.0's
# digest is wrong; stray's URL is on the repository's server under another name
# (localhost), so another origin.
"$T_PY" - "$T_WORK" "$BLOB_REPO_PORT" "$BLOB_CDN_PORT" <<'PY' >"$T_WORK/repo/index.yaml"
import hashlib, sys, yaml
work, rport, cport = sys.argv[1:4]
def ver(name, version, path, url, digest=None):
    data = open(f"{work}/{path}", "rb").read()
    return {"apiVersion": "v2", "created": "2026-12-07T10:00:00.000000000Z", "description": "a test chart",
            "digest": digest or hashlib.sha256(data).hexdigest(), "name": name, "type": "application",
            "urls": [url], "version": version}
idx = {"apiVersion": "v1", "generated": "2026-12-07T10:00:00.000000000Z", "entries": {
    "demo": [
        ver("demo", "2.0.0-beta.1", "repo/charts/demo-2.0.0-beta.1.tgz", "charts/demo-2.0.0-beta.1.tgz"),
        ver("demo", "1.2.0-rc.1", "repo/charts/demo-1.2.0-rc.1.tgz", "charts/demo-1.2.0-rc.1.tgz"),
        ver("demo", "1.1.0", "repo/charts/demo-1.1.0.tgz", "charts/demo-1.1.0.tgz"),
        ver("demo", "1.0.0", "cdn/demo-1.0.0.tgz", f"http://localhost:{cport}/demo-1.0.0.tgz"),
        ver("demo", "0.2.0", "repo/abs/demo-0.2.0.tgz", f"http://127.0.0.1:{rport}/abs/demo-0.2.0.tgz"),
        ver("demo", "0.1.0", "repo/charts/demo-0.1.0.tgz", "charts/demo-0.1.0.tgz")],
    "stray": [ver("stray", "1.0.0", "repo/charts/stray-1.0.0.tgz", f"http://localhost:{rport}/charts/stray-1.0.0.tgz")],
    "tools": [
        ver("tools", "3.1.0", "repo/charts/tools-3.1.0.tgz", "charts/tools-3.1.0.tgz", "0" * 64),
        ver("tools", "3.0.0", "repo/charts/tools-3.0.0.tgz", "charts/tools-3.0.0.tgz")]}}
print(yaml.safe_dump(idx, default_flow_style=False), end="")
PY

b64=$(printf '%s:%s' '$oauthtoken' "$key" | base64 -w0)
secret() { # secret FILE ARTIFACT_TYPES_JSON [VALUE]
  jq -n --arg h "$BLOB_REPO_ADDR" --arg v "${3:-$b64}" --argjson t "$2" '{registryCredentials: [
      {registryHostname: $h, secret: {name: "ngc-api-key", value: $v}, artifactTypes: $t}]}' >"$1"
}
secret "$T_WORK/helm.json" '["HELM"]'
acc=(--secret "$T_WORK/helm.json")
out="$T_WORK/out"

# An exact version: the .tgz as published, the credential sent to the repository.
t_expect_exit 0 "$IMGPULL" chart --dest "$out" "${acc[@]}" --repo "$repo_url" --version 1.1.0 \
  --termination-log "$T_WORK/term" --metrics "$T_WORK/metrics.prom" demo
cmp "$out/demo-1.1.0.tgz" "$T_WORK/repo/charts/demo-1.1.0.tgz" || t_fail "demo 1.1.0 differs from what was published"
t_assert_eq "$(ls "$out" | tr '\n' ' ')" "demo-1.1.0.tgz " "nothing else written"
dg=$(t_sha256 "$T_WORK/repo/charts/demo-1.1.0.tgz")
t_assert_file_contains "$T_OUT" "^Digest: $dg$" "the chart's digest printed"
t_assert_file_contains "$T_WORK/term" "^pulled chart demo 1.1.0" "termination message head"
t_assert_file_contains "$T_WORK/metrics.prom" '^imgpull_pull_success 1' "metrics: success"
grep -q '"GET /nvidia/index.yaml HTTP/1.1" 200 .* auth="Basic ' "$BLOB_REPO_LOG" ||
  t_fail "index.yaml not fetched with the credential: $(cat "$BLOB_REPO_LOG")"
grep -q '"GET /nvidia/charts/demo-1.1.0.tgz HTTP/1.1" 200 .* auth="Basic ' "$BLOB_REPO_LOG" ||
  t_fail "the chart not fetched with the credential: $(cat "$BLOB_REPO_LOG")"
t_ok "--version 1.1.0: byte-identical, credential sent to the repository"

# A range: the newest version within it (an absolute URL on the same origin).
t_expect_exit 0 "$IMGPULL" chart --dest "$out" "${acc[@]}" --repo "$repo_url" --version '>0.1.0 <1' demo
cmp "$out/demo-0.2.0.tgz" "$T_WORK/repo/abs/demo-0.2.0.tgz" || t_fail ">0.1.0 <1 did not give demo 0.2.0"
grep -q '"GET /abs/demo-0.2.0.tgz HTTP/1.1" 200 .* auth="Basic ' "$BLOB_REPO_LOG" ||
  t_fail "the absolute same-origin URL not fetched with the credential"
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/range2" "${acc[@]}" --repo "$repo_url" --version '>=1.0.0 <1.1.0' demo
t_assert_eq "$(ls "$T_WORK/range2")" "demo-1.0.0.tgz" ">=1.0.0 <1.1.0"
t_ok "ranges: >0.1.0 <1 -> 0.2.0, >=1.0.0 <1.1.0 -> 1.0.0"

# No version: the latest stable one (1.1.0), not 2.0.0-beta.1 nor 1.2.0-rc.1;
# a range that admits prereleases picks the newest of them.
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/latest" "${acc[@]}" --repo "$repo_url/" --log-format json demo
t_assert_eq "$(ls "$T_WORK/latest")" "demo-1.1.0.tgz" "the latest stable version"
jq -e 'select(.msg == "pulled chart") | .version == "1.1.0"' "$T_ERR" >/dev/null ||
  t_fail "no JSON record of the pull: $(cat "$T_ERR")"
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/pre" "${acc[@]}" --repo "$repo_url" --version '>=1.2.0-0' demo
t_assert_eq "$(ls "$T_WORK/pre")" "demo-2.0.0-beta.1.tgz" "a prerelease range"
t_ok "no version: 1.1.0 (latest stable); >=1.2.0-0: 2.0.0-beta.1"

# A URL on another host: fetched without the repository's credential.
: >"$BLOB_CDN_LOG"
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/cdn-out" "${acc[@]}" --repo "$repo_url" --version 1.0.0 demo
cmp "$T_WORK/cdn-out/demo-1.0.0.tgz" "$T_WORK/cdn/demo-1.0.0.tgz" || t_fail "demo 1.0.0 from the other host differs"
grep -q '"GET /demo-1.0.0.tgz HTTP/1.1" 200 .* auth="-"' "$BLOB_CDN_LOG" ||
  t_fail "the other host got a credential or no request: $(cat "$BLOB_CDN_LOG")"
# The repository's own server under another name is another origin too: its
# 401 says the credential is not sent there (exit 3).
t_expect_exit 3 "$IMGPULL" chart --dest "$T_WORK/stray" "${acc[@]}" --repo "$repo_url" stray
t_assert_file_contains "$T_ERR" "not sent there" "the reason"
grep -q '"GET /charts/stray-1.0.0.tgz HTTP/1.1" 401 .* auth="-"' "$BLOB_REPO_LOG" ||
  t_fail "the credential went to another origin: $(grep stray "$BLOB_REPO_LOG")"
t_ok "another host: no credential sent (its own 401: exit 3)"

# --untar: the chart's tree.
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/ut" --untar "${acc[@]}" --repo "$repo_url" --version 3.0.0 tools
mkdir -p "$T_WORK/expect" && tar xzf "$T_WORK/repo/charts/tools-3.0.0.tgz" -C "$T_WORK/expect"
diff -r "$T_WORK/ut/tools" "$T_WORK/expect/tools" || t_fail "--untar's tree differs"
t_ok "--untar"

# A digest in the index that is not the chart's: exit 6, nothing written.
t_expect_exit 6 "$IMGPULL" chart --dest "$T_WORK/bad" "${acc[@]}" --repo "$repo_url" --termination-log "$T_WORK/term6" \
  tools
t_assert_file_contains "$T_ERR" "not sha256:0000000000000000000000000000000000000000000000000000000000000000 as the repository's index says" \
  "the reason"
t_assert_file_contains "$T_WORK/term6" "^error: integrity \(exit 6\)" "termination message"
[[ ! -e "$T_WORK/bad" ]] || t_assert_eq "$(ls -A "$T_WORK/bad")" "" "nothing written"
t_ok "a wrong digest in the index: exit 6"

# Credentials: none (401 names the host and says none serves charts), a wrong
# key (names the entry and the registry kind), a CONTAINER-only entry (exit 3,
# naming it), an entry for every type.
t_expect_exit 3 "$IMGPULL" chart --dest "$T_WORK/x" --repo "$repo_url" demo
t_assert_file_contains "$T_ERR" "$BLOB_REPO_ADDR answered 401 for index.yaml" "401 names the host"
t_assert_file_contains "$T_ERR" "no registry credential for charts found for hostname $BLOB_REPO_ADDR" "and why"
secret "$T_WORK/wrong.json" '["HELM"]' "$(printf '%s' '$oauthtoken:nvapi-wrong' | base64 -w0)"
t_expect_exit 3 "$IMGPULL" chart --dest "$T_WORK/x" --secret "$T_WORK/wrong.json" \
  --registry-kind "$BLOB_REPO_ADDR=ngc" --repo "$repo_url" demo
t_assert_file_contains "$T_ERR" "the credential for charts from $T_WORK/wrong.json entry '$BLOB_REPO_ADDR' \(registry kind ngc\) was refused" \
  "names the credential and its kind"
t_assert_file_lacks "$T_ERR" "nvapi-wrong" "the key never printed"
secret "$T_WORK/ctr.json" '["CONTAINER"]'
t_expect_exit 3 "$IMGPULL" chart --dest "$T_WORK/x" --secret "$T_WORK/ctr.json" --repo "$repo_url" demo
t_assert_file_contains "$T_ERR" "serves CONTAINER only" "a CONTAINER-only entry named"
secret "$T_WORK/all.json" '["CONTAINER", "HELM"]'
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/all" --secret "$T_WORK/all.json" --repo "$repo_url" --version 0.1.0 demo
cmp "$T_WORK/all/demo-0.1.0.tgz" "$T_WORK/repo/charts/demo-0.1.0.tgz" || t_fail "demo 0.1.0 differs"
t_ok "401s name the host, the credential and its kind; HELM serves charts, CONTAINER only does not"

# Not there: an unknown chart or version (exit 4); a range that does not parse,
# a chart name with a path, --repo with oci:// (exit 2).
t_expect_exit 4 "$IMGPULL" chart --dest "$T_WORK/x" "${acc[@]}" --repo "$repo_url" nosuch
t_assert_file_contains "$T_ERR" "no chart 'nosuch'" "the reason"
t_expect_exit 4 "$IMGPULL" chart --dest "$T_WORK/x" "${acc[@]}" --repo "$repo_url" --version 9.9.9 demo
t_expect_exit 4 "$IMGPULL" chart --dest "$T_WORK/x" "${acc[@]}" --repo "$BLOB_REPO_URL/none" demo
t_expect_exit 2 "$IMGPULL" chart --dest "$T_WORK/x" "${acc[@]}" --repo "$repo_url" --version '>>1' demo
t_expect_exit 4 "$IMGPULL" chart --dest "$T_WORK/x" "${acc[@]}" --repo "$repo_url" my_chart # '_' is a name's, as Helm has it
t_assert_file_contains "$T_ERR" "no chart 'my_chart'" "a name with '_' looked up"
t_expect_exit 2 "$IMGPULL" chart --dest "$T_WORK/x" "${acc[@]}" --repo "$repo_url" ../demo
t_expect_exit 2 "$IMGPULL" chart --dest "$T_WORK/x" --repo "$repo_url" "oci://$BLOB_REPO_ADDR/x/demo"
t_expect_exit 2 "$IMGPULL" chart --dest "$T_WORK/x" --repo "ftp://$BLOB_REPO_ADDR/x" demo
t_ok "unknown chart or version: exit 4; bad range, name or URL: exit 2"

# --policy: a repository's chart has no cosign signature: a scope that asks for
# none lets it through, the default reject does not (exit 8, nothing written).
jq -n --arg s "$BLOB_REPO_ADDR/nvidia" '{default: [{type: "reject"}],
    transports: {docker: {($s): [{type: "insecureAcceptAnything"}]}}}' >"$T_WORK/p-ok.json"
printf '{"default": [{"type": "reject"}]}' >"$T_WORK/p-reject.json"
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/pol" "${acc[@]}" --policy "$T_WORK/p-ok.json" --repo "$repo_url" \
  --version 0.1.0 demo
t_expect_exit 8 "$IMGPULL" chart --dest "$T_WORK/pol2" "${acc[@]}" --policy "$T_WORK/p-reject.json" \
  --repo "$repo_url" --version 0.1.0 demo
t_assert_file_contains "$T_ERR" "carry no cosign signatures" "the reason"
[[ ! -e "$T_WORK/pol2" ]] || t_fail "a refused chart left its destination"
t_ok "--policy: an accepting scope lets a repository's chart through, reject refuses it (exit 8)"
t_pass
