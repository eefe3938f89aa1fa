#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deploy/manifests played by a real engine: `podman kube play` (Debian 12's
# podman 4.3, as root, in a store of the test's own) of every workload
# manifest, with imgpull's container image as scripts/image.sh assembles it
# (loaded from its OCI layout) against the tests' registries on loopback (the
# played pods on the host's network). The played copy (test/lib/kubeplay.py)
# changes only what a node here must: images to local ones, a DaemonSet or Job
# as its Pod, the secret volume as a hostPath laid out as the kubelet lays out
# a secret (podman 4.3 crashes on secret volumes), references to the tests'
# registries, hostPaths to the test's directories.
#  - init-container.yaml: the init container, uid 65532 on a read-only root,
#    unpacks a ModelPack artifact made here from an htpasswd registry with the
#    mounted secret into the emptyDir; the server container (busybox here, run
#    as the manifest runs it) finds every file, byte for byte, in the directory
#    its --model names, and the completion marker.
#  - prefetch-daemonset.yaml: the init container as uid 0 with the manifest's
#    capabilities hands an image to a containerd of the test's own (its root and
#    socket as hostPaths) with the ConfigMap's list; containerd then has the
#    image and its content, imgpull's layout is inside containerd's root; the
#    main container `imgpull idle` runs as uid 65532.
#  - bench-job.yaml: the Job's pod runs `imgpull bench --json` with the mounted
#    secret; its log is one JSON report of the runs asked.
#  - secret-*.yaml: podman plays each Secret (and keeps it as a podman secret of
#    its name); with the placeholder hosts pointed at registries of the test's
#    that accept only the placeholder credentials (ECR's key pair, NGC's
#    $oauthtoken and API key), each laid out as the kubelet mounts it lets
#    imgpull's container (uid 65532, read-only root) pull from every registry it
#    names: the form each example holds is one imgpull reads (ECR's token
#    exchange itself is cloud_*.sh's).
# Every file of deploy/manifests is played: one added later fails the test until
# it is played here too.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
source "$IMGPULL_SRC/test/lib/secrets.sh"
source "$IMGPULL_SRC/test/lib/kube.sh"
t_workdir
manifests="$IMGPULL_SRC/deploy/manifests"
played=()

k_podman_setup
static=$(ip_static_bin)
"$IMGPULL_SRC/scripts/image.sh" --binary "$static" --out "$T_WORK/oci" --tag test >/dev/null 2>"$T_WORK/image.log" ||
  t_fail "scripts/image.sh failed: $(cat "$T_WORK/image.log")"
k_load_oci "$T_WORK/oci" test localhost/imgpull:test
k_busybox_image localhost/busybox:test

t_registry_start MAIN --htpasswd robot:s3cr3t-pw
t_dockerconfigjson "$REG_MAIN_ADDR=robot:s3cr3t-pw" >"$T_WORK/dockerconfig.json"
t_secret_dir "$T_WORK/secret" .dockerconfigjson "$T_WORK/dockerconfig.json"
chmod 755 "$T_WORK/secret"

# --- the model server: init container unpacks a model package into the emptyDir
model="$REG_MAIN_ADDR/models/tiny-llama:v1"
"$T_PY" "$IMGPULL_SRC/test/lib/modelpack.py" "$REG_MAIN_ADDR" models/tiny-llama:v1 robot:s3cr3t-pw "$T_WORK/model.listing" ||
  t_fail "modelpack.py failed"
f="$manifests/init-container.yaml"
# The directory the server loads: its --model argument, which must be what imgpull unpacks into.
read -r model_dir unpack_dir < <("$T_PY" -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
spec = d["spec"]["template"]["spec"]
server = spec["containers"][0]
env = {e["name"]: e.get("value") for e in spec["initContainers"][0]["env"]}
print(server["args"][server["args"].index("--model") + 1], env["IMGPULL_UNPACK"])' "$f")
t_assert_eq "$model_dir" "$unpack_dir" "the server's --model is the init container's IMGPULL_UNPACK"
check="cd '$model_dir' && sha256sum -c /dev/stdin <<'EOF'
$(cat "$T_WORK/model.listing")
EOF
test -f .imgpull-unpacked && echo marker && ls -la . && touch x 2>/dev/null && echo WRITABLE; id"
k_play "$f" "$(jq -cn --arg img localhost/imgpull:test --arg bb localhost/busybox:test --arg sec "$T_WORK/secret" \
  --arg model "$model" --arg reg "$REG_MAIN_ADDR" --arg check "$check" '{
  images: {"registry.example.com/imgpull:": $img, "docker.io/vllm/": $bb},
  secrets: {"imgpull-registries": $sec},
  env: {model: {IMGPULL_IMAGES: $model, IMGPULL_PLAIN_HTTP: $reg}},
  command: {server: ["/bin/sh", "-c", $check, "vllm"]}}')"
pod=llm-server-pod-0
rc=$(k_wait "$pod-server" 60)
k_logs "$pod-server" >"$T_WORK/server.log"
k_logs "$pod-model" >"$T_WORK/model.log"
t_assert_eq "$rc" 0 "the server container's check (log: $(tail -n 20 "$T_WORK/server.log"))"
t_assert_eq "$(grep -c ': OK$' "$T_WORK/server.log")" "$(wc -l <"$T_WORK/model.listing")" "every file of the package read back"
t_assert_file_contains "$T_WORK/server.log" "^marker$" "the completion marker"
t_assert_file_lacks "$T_WORK/server.log" "WRITABLE" "the server's mount of the models is read-only"
t_assert_file_contains "$T_WORK/server.log" "^uid=65532 gid=65532" "the server runs as 65532"
t_assert_eq "$(podman inspect --format '{{.State.ExitCode}}' "$pod-model")" 0 "the init container's exit"
jq -e -s --arg m "$model" 'any(.[]; .msg == "pulled" and .images == 1) and all(.[]; .level != "error")' \
  "$T_WORK/model.log" >/dev/null || t_fail "the init container's JSON log: $(tail -n 20 "$T_WORK/model.log")"
t_assert_file_lacks "$T_WORK/model.log" "s3cr3t" "no secret in the log"
podman inspect --format '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}}' "$pod-model" >"$T_WORK/model.inspect"
t_assert_file_contains "$T_WORK/model.inspect" "^65532(:65532)? true " "the init container as uid 65532 on a read-only root"
grep -q "$REG_MAIN_ADDR" "$T_WORK/secret/..data/.dockerconfigjson" || t_fail "the secret"
# The registry serves nobody without a credential: the mounted secret was used.
t_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://$REG_MAIN_ADDR/v2/models/tiny-llama/manifests/v1")" 401 \
  "the registry without a credential"
k_down "$K_PLAYED"
t_ok "init-container.yaml: the model package unpacked by uid 65532 with the mounted secret, read by the server"
played+=("$f")

# --- the node prefetch DaemonSet: a containerd of the test's own
t_make_image "$T_WORK/img" v1 --layer 2M --layer 300K
t_push "$T_WORK/img" v1 "$REG_MAIN_ADDR" team/app:v1
ip_containerd_cri_run ctrd "$REG_MAIN_ADDR"
mkdir -p "$T_WORK/certs.d"
f="$manifests/prefetch-daemonset.yaml"
k_play "$f" "$(jq -cn --arg img localhost/imgpull:test --arg sec "$T_WORK/secret" --arg reg "$REG_MAIN_ADDR" \
  --arg root "$CRI_ROOT" --arg sock "$CRI_SOCK" --arg certs "$T_WORK/certs.d" '{
  images: {"registry.example.com/imgpull:": $img},
  secrets: {"imgpull-registries": $sec},
  configMaps: {"imgpull-prefetch": {images: ($reg + "/team/app:v1\n")}},
  hostPaths: {"/var/lib/containerd": $root, "/run/containerd/containerd.sock": $sock,
              "/etc/containerd/certs.d": $certs},
  mountPaths: {"containerd-root": $root, "containerd-socket": $sock},
  env: {prefetch: {IMGPULL_CONTAINERD: ("unix://" + $sock), IMGPULL_CONTAINERD_ROOT: $root,
                   IMGPULL_PLAIN_HTTP: $reg}}}')"
pod=imgpull-prefetch
k_logs "$pod-prefetch" >"$T_WORK/prefetch.log"
t_assert_eq "$(podman inspect --format '{{.State.ExitCode}}' "$pod-prefetch")" 0 \
  "the prefetch init container's exit (log: $(tail -n 20 "$T_WORK/prefetch.log"))"
t_assert_eq "$(podman inspect --format '{{.State.Status}}' "$pod-idle")" running "imgpull idle keeps the pod"
t_assert_eq "$(podman inspect --format '{{.Config.User}}' "$pod-idle")" 65532 "idle's user"
"${CTR[@]}" images ls -q >"$T_WORK/ctr.images"
t_assert_file_contains "$T_WORK/ctr.images" "^$REG_MAIN_ADDR/team/app:v1$" "containerd has the prefetched image"
"${CTR[@]}" content ls -q >"$T_WORK/ctr.content"
for d in $T_IMG_MANIFEST $T_IMG_CONFIG $T_IMG_LAYERS; do
  grep -qx "$d" "$T_WORK/ctr.content" || t_fail "containerd lacks $d"
done
[[ -f "$CRI_ROOT/imgpull/index.json" ]] || t_fail "imgpull's layout is not inside containerd's root"
jq -e -s 'any(.[]; .msg == "pulled") and all(.[]; .level != "error")' "$T_WORK/prefetch.log" >/dev/null ||
  t_fail "the prefetch log: $(tail -n 20 "$T_WORK/prefetch.log")"
podman inspect --format '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapAdd}}' "$pod-prefetch" >"$T_WORK/prefetch.inspect"
t_assert_file_contains "$T_WORK/prefetch.inspect" "^0 true " "the prefetch container as uid 0 on a read-only root"
# The kubelet stops the pod with SIGTERM: idle ends at once, with 0.
start=$SECONDS
podman stop -t 20 "$pod-idle" >/dev/null
t_assert_eq "$(podman inspect --format '{{.State.ExitCode}}' "$pod-idle")" 0 "imgpull idle's exit after SIGTERM"
((SECONDS - start < 10)) || t_fail "imgpull idle took $((SECONDS - start)) s to stop"
k_down "$K_PLAYED"
t_ok "prefetch-daemonset.yaml: the image handed to containerd through its socket and root; idle running, then ended by SIGTERM with 0"
played+=("$f")

# --- the benchmark Job
f="$manifests/bench-job.yaml"
k_play "$f" "$(jq -cn --arg img localhost/imgpull:test --arg sec "$T_WORK/secret" --arg reg "$REG_MAIN_ADDR" '{
  images: {"registry.example.com/imgpull:": $img},
  secrets: {"imgpull-registries": $sec},
  env: {bench: {IMGPULL_IMAGES: ($reg + "/team/app:v1"), IMGPULL_PLAIN_HTTP: $reg, IMGPULL_RUNS: "2"}}}')"
rc=$(k_wait imgpull-bench-bench 60)
podman logs imgpull-bench-bench >"$T_WORK/bench.json" 2>"$T_WORK/bench.err"
t_assert_eq "$rc" 0 "the bench Job's exit (stderr: $(tail -n 20 "$T_WORK/bench.err"))"
jq -e '.schema == "imgpull.bench/v1" and .ok and (.runs | length) == 2 and all(.runs[]; .ok and .bytes > 0)' "$T_WORK/bench.json" >/dev/null ||
  t_fail "the bench report: $(head -c 2000 "$T_WORK/bench.json")"
k_down "$K_PLAYED"
t_ok "bench-job.yaml: a JSON report of 2 runs on stdout"
played+=("$f")

# --- the example Secrets, each with its placeholder credentials
ecr_host=123456789012.dkr.ecr.us-west-2.amazonaws.com
t_registry_start ECR --htpasswd ACCESS_KEY_ID:SECRET_ACCESS_KEY
t_registry_start NGC --htpasswd '$oauthtoken:API_KEY'
t_push "$T_WORK/img" v1 "$REG_ECR_ADDR" team/app:v1 --creds ACCESS_KEY_ID:SECRET_ACCESS_KEY
t_push "$T_WORK/img" v1 "$REG_NGC_ADDR" team/app:v1 --creds '$oauthtoken:API_KEY'
for f in "$manifests"/secret-*.yaml; do
  edits='{}' regs=()
  if grep -q "$ecr_host" "$f"; then
    edits=$(jq -c --arg k "$ecr_host" --arg v "$REG_ECR_ADDR" '.secretText[$k] = $v' <<<"$edits")
    regs+=("$REG_ECR_ADDR")
  fi
  if grep -q 'nvcr\.io' "$f"; then
    edits=$(jq -c --arg v "$REG_NGC_ADDR" '.secretText["nvcr.io"] = $v' <<<"$edits")
    regs+=("$REG_NGC_ADDR")
  fi
  ((${#regs[@]})) || t_fail "$f names neither ECR's placeholder host nor nvcr.io"
  k_play "$f" "$edits"
  name=$("$T_PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["metadata"]["name"])' "$f")
  podman secret inspect "$name" >/dev/null 2>&1 || t_fail "podman kept no secret $name after playing $f"
  base=$(basename "$f" .yaml)
  k_secret_dir "$K_PLAYED" "$name" "$T_WORK/$base"
  for reg in "${regs[@]}"; do
    podman run --rm --network host --user 65532:65532 --read-only --tmpfs /scratch \
      -v "$T_WORK/$base:/var/run/secrets/imgpull:ro" -e IMGPULL_SECRET=/var/run/secrets/imgpull \
      -e IMGPULL_LOG_FORMAT=json localhost/imgpull:test pull --plain-http "$reg" --dest /scratch/layout "$reg/team/app:v1" \
      >"$T_WORK/$base.log" 2>&1 || t_fail "a pull from $reg with $base: $(tail -n 5 "$T_WORK/$base.log")"
    t_assert_file_contains "$T_WORK/$base.log" '"msg":"pulled"' "$base's pull from $reg"
  done
  k_down "$K_PLAYED"
  t_ok "$base: played; laid out as the kubelet mounts it, imgpull's container pulled from ${#regs[@]} registry(ies) with it"
  played+=("$f")
done
t_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://$REG_NGC_ADDR/v2/team/app/manifests/v1")" 401 \
  "the NGC stand-in without a credential"

# Every manifest was played.
t_assert_eq "$(printf '%s\n' "${played[@]}" | sort | tr '\n' ' ')" "$(printf '%s\n' "$manifests"/*.yaml | sort | tr '\n' ' ')" \
  "the manifests played"
t_pass "${#played[@]} manifests played by podman $(podman version --format '{{.Client.Version}}')"
