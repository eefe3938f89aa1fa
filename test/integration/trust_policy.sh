#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# --policy: a containers-policy.json requiring cosign signatures, against a
# docker-registry holding images signed as cosign signs them (its
# specs/SIGNATURE_SPEC.md: the simple-signing payload as the layer of the
# manifest at tag sha256-<hex>.sig, the signature in the annotation
# dev.cosignproject.cosign/signature, ECDSA P-256 over SHA-256), made here with
# python3-cryptography since Debian packages no cosign. Signed images pull
# (keyPath, keyData; pull, --unpack, a multi-platform index signed by its
# digest, an OCI chart); refused with exit 8 and nothing kept: no signature,
# another key, a payload changed, a signature of another digest (a tag moved),
# of another repository under matchRepoDigestOrExact, a reject scope;
# refused at load (exit 2): signedBy, keyless. insecureAcceptAnything pulls
# unsigned images. verify --policy weighs the layout again from the kept
# signatures, and gc keeps them.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
"$T_PY" -c 'import cryptography' || t_fail "python3-cryptography is missing (apt-get install -y python3-cryptography)"

# A registry with a password: signatures are fetched with the image's credential.
t_registry_start REG --htpasswd signer:s3cret
addr=$REG_REG_ADDR
acc=(--plain-http "$addr" --creds signer:s3cret)

# keys.py DIR: ECDSA P-256 key pairs a and b as cosign generate-key-pair makes
# them (the public half as a PEM SubjectPublicKeyInfo).
cat >"$T_WORK/keys.py" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
for n in ("a", "b"):
    k = ec.generate_private_key(ec.SECP256R1())
    open(f"{sys.argv[1]}/{n}.key", "wb").write(k.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    open(f"{sys.argv[1]}/{n}.pub", "wb").write(k.public_key().public_bytes(serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo))
PY
# sign.py ADDR REPO DIGEST KEY IDENTITY [TAMPER] [SIGNED_DIGEST] [REFERRERS_DIR]: cosign's
# signature of DIGEST in REPO: the payload naming SIGNED_DIGEST (default DIGEST) and IDENTITY,
# signed with KEY, pushed as the manifest at tag sha256-<hex>.sig; TAMPER=1 changes one byte
# of the payload after signing. With REFERRERS_DIR, as cosign's OCI 1.1 mode writes it
# instead: a manifest of artifactType application/vnd.dev.cosign.artifact.sig.v1+json whose
# subject is DIGEST, pushed by digest, and the referrers API's answer for DIGEST written
# to REFERRERS_DIR/v2/REPO/referrers/DIGEST.
cat >"$T_WORK/sign.py" <<'PY'
import base64, json, os, sys
sys.path.insert(0, os.path.join(os.environ["IMGPULL_SRC"], "test/lib"))
from regput import Registry
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
addr, repo, digest, keyf, identity = sys.argv[1:6]
tamper = len(sys.argv) > 6 and sys.argv[6] == "1"
signed = sys.argv[7] if len(sys.argv) > 7 and sys.argv[7] else digest
referrers = sys.argv[8] if len(sys.argv) > 8 else None
reg = Registry(addr, "signer:s3cret")
# As cosign's payload.Cosign marshals it (sigstore/sigstore pkg/signature/payload).
payload = json.dumps({"critical": {"identity": {"docker-reference": identity},
                                   "image": {"docker-manifest-digest": signed},
                                   "type": "cosign container image signature"},
                      "optional": None}, separators=(",", ":")).encode()
key = serialization.load_pem_private_key(open(keyf, "rb").read(), None)
sig = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
if tamper:
    payload = payload.replace(b"cosign container", b"cosign Container")
layer = reg.put_blob(repo, payload, "application/vnd.dev.cosign.simplesigning.v1+json")
layer["annotations"] = {"dev.cosignproject.cosign/signature": sig}
cfg = json.dumps({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                  "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                  "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}, separators=(",", ":")).encode()
if not referrers:
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": reg.put_blob(repo, cfg, "application/vnd.oci.image.config.v1+json"), "layers": [layer]},
                   separators=(",", ":")).encode()
    reg.put_manifest(repo, digest.replace(":", "-") + ".sig", m)
    sys.exit(0)
at = "application/vnd.dev.cosign.artifact.sig.v1+json"
subject = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
           "size": int(sys.argv[9]) if len(sys.argv) > 9 else 0}
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": at,
                "config": reg.put_blob(repo, b"{}", "application/vnd.oci.empty.v1+json"), "layers": [layer],
                "subject": subject}, separators=(",", ":")).encode()
md = reg.put_manifest(repo, "sha256:" + __import__("hashlib").sha256(m).hexdigest(), m)
d = os.path.join(referrers, "v2", repo, "referrers")
os.makedirs(d, exist_ok=True)
json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(m),
                          "artifactType": at}]}, open(os.path.join(d, digest), "w"))
PY
"$T_PY" "$T_WORK/keys.py" "$T_WORK"
sign() { "$T_PY" "$T_WORK/sign.py" "$addr" "$@" || t_fail "signing $* failed"; }

# policy FILE SCOPE_REQUIREMENTS_JSON: default reject, the team namespace as given.
policy() {
  jq -n --arg s "$addr/team" --argjson r "$2" '{default: [{type: "reject"}], transports: {docker: {($s): $r}}}' >"$1"
}
sigreq() { # sigreq KEYFIELD VALUE [IDENTITY_JSON]
  jq -n --arg k "$1" --arg v "$2" --argjson id "${3:-null}" \
    '[{type: "sigstoreSigned", ($k): $v} + (if $id then {signedIdentity: $id} else {} end)]'
}
policy "$T_WORK/p-path.json" "$(sigreq keyPath "$T_WORK/a.pub" '{"type":"matchRepository"}')"
policy "$T_WORK/p-data.json" "$(sigreq keyData "$(base64 -w0 "$T_WORK/a.pub")" '{"type":"matchRepository"}')"
policy "$T_WORK/p-exact.json" "$(sigreq keyPath "$T_WORK/a.pub")"
jq -n --arg s "REFHOST/team" --argjson r "$(sigreq keyPath "$T_WORK/a.pub" '{"type":"matchRepository"}')" \
  '{default: [{type: "reject"}], transports: {docker: {($s): $r}}}' >"$T_WORK/p-ref.tmpl"

t_make_image "$T_WORK/src" v1 --layer 64K --layer 16K --seed 1
d1=$T_IMG_MANIFEST
t_push "$T_WORK/src" v1 "$addr" team/app:v1
sign team/app "$d1" "$T_WORK/a.key" "$addr/team/app"

# Signed: pulls under keyPath and keyData; the signature is kept beside the
# image; verify --policy accepts the layout again.
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/l1" "${acc[@]}" --policy "$T_WORK/p-path.json" "$addr/team/app:v1"
jq -e --arg n "$addr/team/app:sha256-${d1#sha256:}.sig" \
  '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | index($n) != null' "$T_WORK/l1/index.json" \
  >/dev/null || t_fail "the signature was not kept: $(cat "$T_WORK/l1/index.json")"
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/l2" "${acc[@]}" --policy "$T_WORK/p-data.json" "$addr/team/app:v1"
t_expect_exit 0 "$IMGPULL" verify --dest "$T_WORK/l1" --policy "$T_WORK/p-path.json"
t_assert_file_contains "$T_OUT" "1 images accepted by the policy" "verify weighed the image"
t_expect_exit 0 "$IMGPULL" gc --dest "$T_WORK/l1"
t_expect_exit 0 "$IMGPULL" verify --dest "$T_WORK/l1" --policy "$T_WORK/p-path.json"
t_ok "signed: keyPath and keyData pull; verify --policy accepts the layout, also after gc"

# refused CASE DEST IMAGE POLICY REGEX: exit 8, the reason, nothing kept.
refused() {
  local what=$1 dest=$2 image=$3 pol=$4 re=$5
  t_expect_exit 8 "$IMGPULL" pull --dest "$dest" "${acc[@]}" --policy "$pol" --termination-log "$T_WORK/term8" \
    "$image"
  t_assert_file_contains "$T_ERR" "$re" "$what: the reason"
  t_assert_file_contains "$T_WORK/term8" "^error: untrusted \(exit 8\)" "$what: termination message"
  [[ ! -e "$dest" ]] || t_fail "$what: $dest was created"
  t_ok "$what: exit 8, nothing kept"
}

# No signature.
t_make_image "$T_WORK/src" v2 --layer 32K --seed 2
d2=$T_IMG_MANIFEST
t_push "$T_WORK/src" v2 "$addr" team/app:v2
refused "no signature" "$T_WORK/n1" "$addr/team/app:v2" "$T_WORK/p-path.json" "no signature"
# Another key.
sign team/app "$d2" "$T_WORK/b.key" "$addr/team/app"
refused "another key" "$T_WORK/n2" "$addr/team/app:v2" "$T_WORK/p-path.json" "no key of keyPath"
# A payload with one byte changed.
t_make_image "$T_WORK/src" v3 --layer 32K --seed 3
d3=$T_IMG_MANIFEST
t_push "$T_WORK/src" v3 "$addr" team/app:v3
sign team/app "$d3" "$T_WORK/a.key" "$addr/team/app" 1
refused "a payload changed" "$T_WORK/n3" "$addr/team/app:v3" "$T_WORK/p-path.json" "no key of keyPath"
# A valid signature of another digest: the tag moved to an image whose
# signature tag holds the old image's signature.
t_make_image "$T_WORK/src" v4 --layer 32K --seed 4
d4=$T_IMG_MANIFEST
t_push "$T_WORK/src" v4 "$addr" team/app:v4
sign team/app "$d4" "$T_WORK/a.key" "$addr/team/app" 0 "$d1"
refused "a signature of another digest" "$T_WORK/n4" "$addr/team/app:v4" "$T_WORK/p-path.json" \
  "a signature of $d1, not of $d4"
# A valid signature for another repository, matchRepoDigestOrExact (the default):
# pulled by digest, the signed repository must be the image's (its identity
# with a tag: a repository alone never satisfies it, as in containers/image).
t_make_image "$T_WORK/src" v5 --layer 32K --seed 5
d5=$T_IMG_MANIFEST
t_push "$T_WORK/src" v5 "$addr" team/app:v5
sign team/app "$d5" "$T_WORK/a.key" "$addr/team/other:v5"
refused "another repository" "$T_WORK/n5" "$addr/team/app@$d5" "$T_WORK/p-exact.json" "identity signedIdentity"
t_make_image "$T_WORK/src" v6 --layer 32K --seed 6
d6=$T_IMG_MANIFEST
t_push "$T_WORK/src" v6 "$addr" team/app:v6
sign team/app "$d6" "$T_WORK/a.key" "$addr/team/app:v6"
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/l6" "${acc[@]}" --policy "$T_WORK/p-exact.json" "$addr/team/app@$d6"
t_ok "matchRepoDigestOrExact: the image's own repository by digest pulls"
# A reject scope; the default (reject) for what no scope names.
policy "$T_WORK/p-reject.json" '[{"type":"reject"}]'
refused "a reject scope" "$T_WORK/n6" "$addr/team/app:v1" "$T_WORK/p-reject.json" "rejects it"
t_push "$T_WORK/src" v1 "$addr" elsewhere/app:v1
refused "the default" "$T_WORK/n7" "$addr/elsewhere/app:v1" "$T_WORK/p-path.json" "rejects it"

# insecureAcceptAnything: unsigned images pull.
policy "$T_WORK/p-any.json" '[{"type":"insecureAcceptAnything"}]'
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/l7" "${acc[@]}" --policy "$T_WORK/p-any.json" "$addr/team/app:v2"
t_ok "insecureAcceptAnything: an unsigned image pulls"

# Refused at load time, before any request: GPG, keyless, unknown types.
policy "$T_WORK/p-gpg.json" '[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/etc/pki/gpg.pub"}]'
t_expect_exit 2 "$IMGPULL" pull --dest "$T_WORK/n8" "${acc[@]}" --policy "$T_WORK/p-gpg.json" "$addr/team/app:v1"
t_assert_file_contains "$T_ERR" "signedBy" "the requirement named"
policy "$T_WORK/p-fulcio.json" '[{"type":"sigstoreSigned","fulcio":{"caPath":"/x","oidcIssuer":"https://x","subjectEmail":"a@b"},"rekorPublicKeyPath":"/y"}]'
t_expect_exit 2 "$IMGPULL" pull --dest "$T_WORK/n8" "${acc[@]}" --policy "$T_WORK/p-fulcio.json" "$addr/team/app:v1"
[[ ! -e "$T_WORK/n8" ]] || t_fail "a refused policy created the layout"
# A policy read and then --help or a usage error: nothing leaks (this script
# also runs in the sanitizer build, where a leak fails the command).
t_expect_exit 0 "$IMGPULL" verify --policy "$T_WORK/p-path.json" --help
t_expect_exit 2 "$IMGPULL" verify --policy "$T_WORK/p-path.json"
t_ok "signedBy and keyless sigstoreSigned: exit 2 at load time; verify's early exits release the policy"

# --unpack: refused before anything is made; signed: unpacked.
t_expect_exit 8 "$IMGPULL" pull --unpack "$T_WORK/rootfs-n" "${acc[@]}" --policy "$T_WORK/p-path.json" \
  "$addr/team/app:v2"
[[ ! -e "$T_WORK/rootfs-n" ]] || t_fail "a refused --unpack created its rootfs"
t_expect_exit 0 "$IMGPULL" pull --unpack "$T_WORK/rootfs" "${acc[@]}" --policy "$T_WORK/p-path.json" \
  "$addr/team/app:v1"
[[ -e "$T_WORK/rootfs/.imgpull-unpacked" ]] || t_fail "the signed image was not unpacked"
t_ok "--unpack: unsigned refused with nothing made, signed unpacked"

# A multi-platform index signed by its digest, as cosign signs what a tag names.
t_make_index "$T_WORK/idx" multi linux/amd64 linux/arm64
di=$T_IMG_INDEX
t_push "$T_WORK/idx" multi "$addr" team/multi:1 --all
refused "an unsigned index" "$T_WORK/n9" "$addr/team/multi:1" "$T_WORK/p-path.json" "no signature"
sign team/multi "$di" "$T_WORK/a.key" "$addr/team/multi"
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/l9" "${acc[@]}" --policy "$T_WORK/p-path.json" --platform linux/arm64 \
  "$addr/team/multi:1"
t_expect_exit 0 "$IMGPULL" gc --dest "$T_WORK/l9"
t_expect_exit 0 "$IMGPULL" verify --dest "$T_WORK/l9" --policy "$T_WORK/p-path.json"
t_ok "an index signed by its digest pulls; verify --policy checks it again from the kept index"

# The OCI 1.1 referrers API (docker-registry 2.8 has none: nginx answers it in
# front of the registry, from the files sign.py writes): a signature found
# only among the referrers counts.
t_make_image "$T_WORK/src" v7 --layer 32K --seed 7
d7=$T_IMG_MANIFEST
t_push "$T_WORK/src" v7 "$addr" team/ref:v7
size7=$T_IMG_MANIFEST_SIZE
mkdir -p "$T_WORK/nginx-referrers"
_t_nginx_run "referrers" "$T_WORK/nginx-referrers" "" 1 256 "referrers API in front of $addr" "
  log_format r '\$request \$status';
  access_log $T_WORK/nginx-referrers/access.log r;
  server {
    listen 127.0.0.1:@PORT@;
    location ~ ^/v2/.+/referrers/sha256:[0-9a-f]+\$ {
      root $T_WORK/referrers;
      default_type application/vnd.oci.image.index.v1+json;
      try_files \$uri =404;
    }
    location / {
      proxy_pass http://$addr;
      proxy_set_header Host \$http_host;
    }
  }"
raddr="127.0.0.1:$_T_SERVE_PORT"
sed "s/REFHOST/$raddr/" "$T_WORK/p-ref.tmpl" >"$T_WORK/p-ref.json"
sign team/ref "$d7" "$T_WORK/a.key" "$raddr/team/ref" 0 "" "$T_WORK/referrers" "$size7"
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/l10" --plain-http "$raddr" --creds signer:s3cret --policy "$T_WORK/p-ref.json" \
  "$raddr/team/ref:v7"
grep -q "GET /v2/team/ref/referrers/$d7?artifactType=.* 200" "$T_WORK/nginx-referrers/access.log" ||
  t_fail "the referrers API was not asked: $(cat "$T_WORK/nginx-referrers/access.log")"
t_expect_exit 0 "$IMGPULL" verify --dest "$T_WORK/l10" --policy "$T_WORK/p-ref.json"
t_expect_exit 8 "$IMGPULL" pull --dest "$T_WORK/n10" --plain-http "$raddr" --creds signer:s3cret --policy "$T_WORK/p-ref.json" \
  "$raddr/team/app:v2"
t_ok "a signature among the referrers (OCI 1.1) counts; verify --policy checks it again"

# --containerd: an unsigned image reaches nothing of containerd's (no content,
# no image); a signed one is handed off.
ip_containerd_cri_start "$addr"
t_expect_exit 8 "$IMGPULL" pull "${acc[@]}" --policy "$T_WORK/p-path.json" --containerd="unix://$CRI_SOCK" \
  --containerd-root "$CRI_ROOT" --snapshotter none "$addr/team/app:v2"
"${CTR[@]}" content ls -q >"$T_WORK/content"
! grep -q "${d2}" "$T_WORK/content" || t_fail "the refused image's manifest reached containerd's content store"
"${CTR[@]}" images ls -q >"$T_WORK/images"
! grep -q "team/app:v2" "$T_WORK/images" || t_fail "the refused image was registered in containerd"
t_expect_exit 0 "$IMGPULL" pull "${acc[@]}" --policy "$T_WORK/p-path.json" --containerd="unix://$CRI_SOCK" \
  --containerd-root "$CRI_ROOT" --snapshotter none "$addr/team/app:v1"
"${CTR[@]}" images ls -q >"$T_WORK/images" # whole, then read: grep -q would cut ctr's pipe
grep -q "team/app:v1" "$T_WORK/images" || t_fail "the signed image is not in containerd: $(cat "$T_WORK/images")"
t_ok "--containerd: unsigned refused before containerd sees it, signed handed off"

# chart: an oci:// chart is weighed like an image (signed: pulled; unsigned:
# exit 8, nothing written); a chart repository's chart has no cosign signature.
mkdir -p "$T_WORK/chart/demo"
printf 'apiVersion: v2\nname: demo\nversion: 0.1.0\n' >"$T_WORK/chart/demo/Chart.yaml"
(cd "$T_WORK/chart" && tar czf demo-0.1.0.tgz demo/)
"$T_PY" - "$addr" "$T_WORK/chart/demo-0.1.0.tgz" >"$T_WORK/chart/digest" <<'PY'
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["IMGPULL_SRC"], "test/lib"))
from regput import Registry
addr, tgz = sys.argv[1:3]
reg = Registry(addr, "signer:s3cret")
cfg = reg.put_blob("team/demo", b'{"name":"demo","version":"0.1.0","apiVersion":"v2"}',
                   "application/vnd.cncf.helm.config.v1+json")
lay = reg.put_blob("team/demo", open(tgz, "rb").read(), "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
for tag in ("0.1.0", "0.2.0"):
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cfg,
                    "layers": [lay], "annotations": {"tag": tag}}).encode()
    print(reg.put_manifest("team/demo", tag, m))
PY
dc1=$(sed -n 1p "$T_WORK/chart/digest")
sign team/demo "$dc1" "$T_WORK/a.key" "$addr/team/demo"
t_expect_exit 0 "$IMGPULL" chart --dest "$T_WORK/charts" "${acc[@]}" --policy "$T_WORK/p-path.json" \
  "oci://$addr/team/demo:0.1.0"
cmp "$T_WORK/charts/demo-0.1.0.tgz" "$T_WORK/chart/demo-0.1.0.tgz" || t_fail "the signed chart differs"
t_expect_exit 8 "$IMGPULL" chart --dest "$T_WORK/charts-n" "${acc[@]}" --policy "$T_WORK/p-path.json" \
  "oci://$addr/team/demo:0.2.0"
[[ ! -e "$T_WORK/charts-n" ]] || t_fail "a refused chart left its destination"
t_ok "chart: a signed oci:// chart pulls, an unsigned one exit 8"

# verify --policy refuses an image whose signature is not kept (exit 8), also
# one whose tag looks like a signature's.
t_expect_exit 8 "$IMGPULL" verify --dest "$T_WORK/l7" --policy "$T_WORK/p-path.json"
t_assert_file_contains "$T_ERR" "no signature" "the reason"
t_push "$T_WORK/src" v2 "$addr" "team/app:sha256-$(printf '%064d' 7).sig"
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/l11" "${acc[@]}" "$addr/team/app:sha256-$(printf '%064d' 7).sig"
t_expect_exit 8 "$IMGPULL" verify --dest "$T_WORK/l11" --policy "$T_WORK/p-path.json"
t_ok "verify --policy: an unsigned image in the layout, even tagged like a signature: exit 8"
t_pass
