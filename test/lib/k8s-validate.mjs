// SPDX-License-Identifier: Apache-2.0
// Validates Kubernetes manifests against the API's schemas (the kubernetes-models
// package: the OpenAPI definitions of Kubernetes 1.3x compiled to validators).
//
//   node k8s-validate.mjs [--secrets-out DIR] FILE...
//   (run from a folder whose node_modules has kubernetes-models and yaml; see
//   test/integration/manifests.sh)
//
// Every YAML document must parse, name a known apiVersion and kind, and pass its
// schema (types, required fields, formats). Prints "ok FILE KIND/NAME" per
// document and "env NAME COMMAND" for every IMGPULL_* variable a container sets
// (COMMAND: the container's first argument, the imgpull command); exits 1
// with the reasons on stderr if any document fails. --secrets-out writes each
// Secret's stringData entries to DIR/SECRET/KEY, for imgpull to read.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

let failed = false;
const fail = (where, why) => {
  console.error(`${where}: ${why}`);
  failed = true;
};

function podSpecs(obj) {
  const spec = obj.spec ?? {};
  if (obj.kind === "Pod") return [spec];
  if (obj.kind === "CronJob") return [spec.jobTemplate?.spec?.template?.spec ?? {}];
  return spec.template?.spec ? [spec.template.spec] : [];
}

const args = process.argv.slice(2);
let secretsOut = null;
if (args[0] === "--secrets-out") {
  secretsOut = args[1];
  args.splice(0, 2);
}

for (const file of args) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  let n = 0;
  for (const doc of docs) {
    n++;
    const where = `${file}#${n}`;
    if (doc.errors.length) {
      fail(where, `YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue; // an empty document
    const { apiVersion, kind } = obj;
    if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Z][A-Za-z]+$/.test(kind)) {
      fail(where, "no apiVersion or kind");
      continue;
    }
    let Model;
    try {
      Model = (await import(`kubernetes-models/${apiVersion}/${kind}`))[kind];
    } catch {
      Model = undefined;
    }
    if (!Model) {
      fail(where, `unknown apiVersion/kind ${apiVersion}/${kind}`);
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      fail(where, `${kind} ${obj.metadata?.name ?? "(no name)"}: ${e.message}`);
      continue;
    }
    console.log(`ok ${file} ${kind}/${obj.metadata?.name}`);
    if (secretsOut && kind === "Secret" && obj.stringData) {
      const dir = `${secretsOut}/${obj.metadata.name}`;
      mkdirSync(dir, { recursive: true });
      for (const [k, v] of Object.entries(obj.stringData)) writeFileSync(`${dir}/${k}`, v);
    }
    for (const ps of podSpecs(obj))
      for (const c of [...(ps.initContainers ?? []), ...(ps.containers ?? [])])
        for (const e of c.env ?? [])
          if (e.name.startsWith("IMGPULL_")) console.log(`env ${e.name} ${c.args?.[0] ?? "pull"}`);
  }
}
process.exit(failed ? 1 : 0);
