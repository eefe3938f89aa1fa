# SPDX-License-Identifier: Apache-2.0
"""The copy of a deploy/manifests file that `podman kube play` plays here.

  kubeplay.py IN OUT EDITS_JSON

Every document of IN is kept in order; a DaemonSet or a Job becomes the Pod
of its template (podman 4.3 plays Pods, Deployments and ConfigMaps), named
after the workload. Then, on every pod spec:
  - hostNetwork: true (the tests' servers listen on 127.0.0.1 only), and so
    no container "ports" (podman 4.3 maps them, which host networking refuses;
    on the host's network a container's port is the host's);
  - restartPolicy: Never (a Deployment's Always would start a checking
    container again once it exited: the test reads one run);
  - the annotation io.podman.annotations.init.container.type=always, so
    that podman keeps the init containers and their logs after they ran;
  - EDITS (JSON), each optional:
      "images":    {"IMAGE PREFIX": "LOCAL IMAGE"}: a container whose image
                   starts with the prefix runs the local image instead;
      "secrets":   {"SECRET NAME": "DIR"}: that secret volume becomes a hostPath
                   of DIR (a directory laid out as the kubelet lays out a secret:
                   podman 4.3 crashes on secret volumes);
      "hostPaths": {"PATH": "NEW PATH"}: a hostPath volume's path;
      "mountPaths": {"VOLUME": "PATH"}: every mount of that volume there;
      "env":       {"CONTAINER": {"NAME": "VALUE"}}: set or add variables;
      "command", "args": {"CONTAINER": [...]}: replace them;
      "configMaps": {"NAME": {"KEY": "VALUE"}}: a ConfigMap's data;
      "secretText": {"OLD": "NEW"}: OLD replaced by NEW in every value of a
                   Secret's stringData (a registry's host name, say).
An edit that matches nothing is an error: a manifest that changed must not
leave the test playing something else than it thinks.
"""
import json
import sys

import yaml

src, dst, edits = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
used = set()


def pod_of(doc):
    kind = doc.get("kind")
    if kind in ("DaemonSet", "Job"):
        tmpl = doc["spec"]["template"]
        meta = {"name": doc["metadata"]["name"], "labels": tmpl.get("metadata", {}).get("labels", {})}
        doc = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": tmpl["spec"]}
        return doc, doc
    if kind == "Deployment":
        return doc, doc["spec"]["template"]
    if kind == "Pod":
        return doc, doc
    return doc, None


def edit_pod(doc, holder):
    # podman 4.3 reads a Deployment's annotations from the Deployment itself
    for m in (doc, holder):
        m.setdefault("metadata", {}).setdefault("annotations", {})[
            "io.podman.annotations.init.container.type"] = "always"
    spec = holder["spec"]
    spec["hostNetwork"] = True
    spec["restartPolicy"] = "Never"
    for v in spec.get("volumes", []):
        if "secret" in v and v["secret"]["secretName"] in edits.get("secrets", {}):
            used.add(("secrets", v["secret"]["secretName"]))
            v["hostPath"] = {"path": edits["secrets"][v["secret"]["secretName"]], "type": "Directory"}
            del v["secret"]
        if "hostPath" in v and v["hostPath"]["path"] in edits.get("hostPaths", {}):
            used.add(("hostPaths", v["hostPath"]["path"]))
            v["hostPath"]["path"] = edits["hostPaths"][v["hostPath"]["path"]]
    for c in spec.get("initContainers", []) + spec["containers"]:
        c.pop("ports", None)
        for prefix, image in edits.get("images", {}).items():
            if c["image"].startswith(prefix):
                used.add(("images", prefix))
                c["image"] = image
        for m in c.get("volumeMounts", []):
            if m["name"] in edits.get("mountPaths", {}):
                used.add(("mountPaths", m["name"]))
                m["mountPath"] = edits["mountPaths"][m["name"]]
        for name, value in edits.get("env", {}).get(c["name"], {}).items():
            used.add(("env", c["name"]))
            env = c.setdefault("env", [])
            env[:] = [e for e in env if e["name"] != name] + [{"name": name, "value": value}]
        for key in ("command", "args"):
            if c["name"] in edits.get(key, {}):
                used.add((key, c["name"]))
                c[key] = edits[key][c["name"]]


out = []
with open(src) as f:
    for doc in yaml.safe_load_all(f):
        if doc is None:
            continue
        doc, holder = pod_of(doc)
        if holder is not None:
            edit_pod(doc, holder)
        if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] in edits.get("configMaps", {}):
            used.add(("configMaps", doc["metadata"]["name"]))
            doc["data"].update(edits["configMaps"][doc["metadata"]["name"]])
        if doc.get("kind") == "Secret":
            for key, value in doc.get("stringData", {}).items():
                for old, new in edits.get("secretText", {}).items():
                    if old in value:
                        used.add(("secretText", old))
                        value = value.replace(old, new)
                doc["stringData"][key] = value
        out.append(doc)
for key, table in edits.items():
    for name in table:
        if (key, name) not in used:
            sys.exit("kubeplay.py: %s: the edit %s %r matches nothing" % (src, key, name))
with open(dst, "w") as f:
    yaml.safe_dump_all(out, f, sort_keys=False)
