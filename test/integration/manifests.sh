#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deploy/manifests: every document validates against the Kubernetes API schemas
# (kubernetes-models from the npm registry, run by Node.js), not only as YAML,
# and the validator is shown to reject broken documents; every IMGPULL_*
# variable a manifest sets is one imgpull knows (so manifests cannot drift from
# the CLI); the example Secrets parse as imgpull pull secrets.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
t_workdir

command -v node >/dev/null || t_fail "node is missing (scripts/deps.sh installs nodejs)"
command -v npm >/dev/null || t_fail "npm is missing (scripts/deps.sh installs npm)"
# The validator's packages, pinned, installed once outside the clone.
mods=${IMGPULL_NPM_CACHE:-/var/cache/imgpull-npm}/k8s-validate-1
if [[ ! -f "$mods/.installed" ]]; then
  mkdir -p "$mods"
  (cd "$mods" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --silent kubernetes-models@5.1.0 yaml@2.9.1 >"$T_WORK/npm.log" 2>&1) ||
    t_fail "npm install failed: $(tail -20 "$T_WORK/npm.log")"
  touch "$mods/.installed"
fi
cp "$IMGPULL_SRC/test/lib/k8s-validate.mjs" "$mods/"
validate() { node "$mods/k8s-validate.mjs" "$@"; }

manifests=("$IMGPULL_SRC"/deploy/manifests/*.yaml)
((${#manifests[@]} >= 4)) || t_fail "expected the Deployment and three Secrets in deploy/manifests"
validate --secrets-out "$T_WORK/secrets" "${manifests[@]}" >"$T_WORK/valid.out" 2>"$T_WORK/valid.err" ||
  t_fail "deploy/manifests do not validate: $(cat "$T_WORK/valid.err")"
t_ok "$(grep -c '^ok ' "$T_WORK/valid.out") documents valid: $(grep '^ok ' "$T_WORK/valid.out" | awk '{print $3}' | tr '\n' ' ')"
t_assert_file_contains "$T_WORK/valid.out" "^ok .* Deployment/" "a Deployment"
t_assert_file_contains "$T_WORK/valid.out" "^ok .*bench-job.yaml Job/imgpull-bench" "the bench Job"
grep -q 'args: \["bench", "--json"\]' "$IMGPULL_SRC/deploy/manifests/bench-job.yaml" ||
  t_fail "the bench Job does not run 'imgpull bench --json'"

# The validator fails on what the API server would refuse.
bad() {
  printf '%s\n' "$2" >"$T_WORK/bad.yaml"
  if validate "$T_WORK/bad.yaml" >/dev/null 2>"$T_WORK/bad.err"; then
    t_fail "the validator accepted $1"
  fi
  t_ok "rejected: $1 ($(head -c 120 "$T_WORK/bad.err"))"
}
bad "a string for replicas" "apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec: {replicas: two, selector: {}, template: {spec: {containers: [{name: a, image: b}]}}}"
bad "a container without a name" "apiVersion: v1
kind: Pod
metadata: {name: x}
spec: {containers: [{image: b}]}"
bad "an unknown kind" "apiVersion: apps/v1
kind: Deploymint
metadata: {name: x}"
bad "malformed YAML" "apiVersion: v1
kind: [Pod"

# Every IMGPULL_* variable a manifest sets is one the container's command knows.
n=0
while read -r v cmd; do
  "$IMGPULL" help "$cmd" >"$T_WORK/help" || t_fail "a manifest runs 'imgpull $cmd', which is no command"
  known=$( (grep -o '\$IMGPULL_[A-Z_]*' "$T_WORK/help" | tr -d '$'; echo IMGPULL_IMAGES) | sort -u)
  grep -qx "$v" <<<"$known" || t_fail "a manifest sets $v for 'imgpull $cmd', which does not know it"
  n=$((n + 1))
done < <(awk '$1 == "env" {print $2, $3}' "$T_WORK/valid.out" | sort -u)
((n >= 3)) || t_fail "expected the Deployment to configure imgpull through IMGPULL_* variables"
t_ok "$n IMGPULL_* variables set by the manifests, all known to imgpull"

# The example Secrets are secrets imgpull reads (a malformed one exits 3; this
# registry is unreachable, so a well-formed one ends in exit 5).
for d in "$T_WORK"/secrets/*; do
  t_expect_exit 5 "$IMGPULL" pull --secret "$d" --retries 0 --dest "$T_WORK/layout" "127.0.0.1:1/x/y:1"
done
t_ok "$(ls "$T_WORK/secrets" | wc -l) example secrets parse"
t_pass
