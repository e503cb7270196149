// validate.mjs FILE.yaml... — checks Kubernetes manifests offline, as kubeconform -strict would,
// plus the references between them. Prints "ok FILE" or "FAIL FILE: why" lines; exit 1 on a
// failure.
//   1. schema: kubernetes-models' validators (the Kubernetes OpenAPI schemas compiled with ajv):
//      types, required fields, formats;
//   2. unknown fields: every key must be a field of its object's type, per the attribute maps of
//      @kubernetes/client-node's generated models (kubernetes-models accepts unknown keys, and a
//      typo such as hostPid would silently do nothing in a cluster);
//   3. references: selectors match their pod templates, Services select a workload and name
//      its ports, secretKeyRefs and claimNames name objects of the set, objects live in a
//      namespace of the set, probes name declared ports.
// A kustomization.yaml is checked for its resources existing and being among the files given.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);
const modelsDir = path.join(path.dirname(require.resolve("@kubernetes/client-node/package.json")),
  "dist", "gen", "models");

const failures = [];
function fail(file, msg) { failures.push(`${file}: ${msg}`); }

// ---- 1. schema ------------------------------------------------------------------------------------
async function schemaCheck(file, doc) {
  const [group, version] = doc.apiVersion.includes("/") ? doc.apiVersion.split("/") : [null, doc.apiVersion];
  const mod = group ? `kubernetes-models/${group}/${version}/${doc.kind}` : `kubernetes-models/${version}/${doc.kind}`;
  let Cls;
  try {
    Cls = (await import(mod))[doc.kind];
  } catch (e) {
    fail(file, `${doc.kind} ${doc.apiVersion}: no schema (${e.message.split("\n")[0]})`);
    return;
  }
  try {
    new Cls(doc).validate();
  } catch (e) {
    fail(file, `${doc.kind}/${doc.metadata?.name}: ${e.message}`);
  }
}

// ---- 2. unknown fields ----------------------------------------------------------------------------
const classCache = new Map();
async function modelClass(name) {
  if (!classCache.has(name)) {
    const f = path.join(modelsDir, `${name}.js`);
    classCache.set(name, fs.existsSync(f) ? (await import(f))[name] : null);
  }
  return classCache.get(name);
}

function className(doc) {
  // core/v1 Service -> V1Service; apps/v1 DaemonSet -> V1DaemonSet
  const version = doc.apiVersion.split("/").pop();
  return version.charAt(0).toUpperCase() + version.slice(1) + doc.kind;
}

async function walk(file, value, type, where) {
  if (value === null || value === undefined) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (!Array.isArray(value)) return; // the schema check reports the type
    for (let i = 0; i < value.length; i++) await walk(file, value[i], m[1], `${where}[${i}]`);
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    if (typeof value !== "object") return;
    for (const [k, v] of Object.entries(value)) await walk(file, v, m[1], `${where}.${k}`);
    return;
  }
  const Cls = /^[A-Z]/.test(type) ? await modelClass(type) : null;
  if (!Cls || typeof value !== "object" || Array.isArray(value)) return; // a scalar, or free-form
  const attrs = new Map(Cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    if (!attrs.has(k)) {
      fail(file, `unknown field ${where ? where + "." : ""}${k} (${type} has: ${[...attrs.keys()].join(", ")})`);
      continue;
    }
    await walk(file, v, attrs.get(k), where ? `${where}.${k}` : k);
  }
}

// ---- 3. references --------------------------------------------------------------------------------
function podSpecs(doc) {
  if (["Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"].includes(doc.kind)) return [doc.spec?.template];
  return [];
}

function references(all) {
  const byKind = (k) => all.filter((x) => x.doc.kind === k);
  const namespaces = new Set(byKind("Namespace").map((x) => x.doc.metadata.name));
  for (const { file, doc } of all) {
    const ns = doc.metadata?.namespace;
    if (doc.kind !== "Namespace" && ns && !namespaces.has(ns)) fail(file, `${doc.kind}/${doc.metadata.name}: namespace ${ns} is not in the set`);
    for (const tpl of podSpecs(doc)) {
      const labels = tpl?.metadata?.labels || {};
      for (const [k, v] of Object.entries(doc.spec?.selector?.matchLabels || {}))
        if (labels[k] !== v) fail(file, `${doc.kind}/${doc.metadata.name}: selector ${k}=${v} does not match the template's labels`);
      const spec = tpl?.spec || {};
      const claims = new Set();
      for (const vol of spec.volumes || []) if (vol.persistentVolumeClaim) claims.add(vol.persistentVolumeClaim.claimName);
      for (const c of claims)
        if (!byKind("PersistentVolumeClaim").some((x) => x.doc.metadata.name === c && x.doc.metadata.namespace === ns))
          fail(file, `${doc.kind}/${doc.metadata.name}: claim ${c} is not in the set`);
      const volNames = new Set((spec.volumes || []).map((v) => v.name));
      for (const c of [...(spec.containers || []), ...(spec.initContainers || [])]) {
        for (const m of c.volumeMounts || [])
          if (!volNames.has(m.name)) fail(file, `container ${c.name}: volume ${m.name} is not declared`);
        for (const e of c.env || []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          const sec = byKind("Secret").find((x) => x.doc.metadata.name === ref.name && x.doc.metadata.namespace === ns);
          if (!sec) fail(file, `container ${c.name}: Secret ${ref.name} is not in the set`);
          else if (!(ref.key in (sec.doc.stringData || {})) && !(ref.key in (sec.doc.data || {})))
            fail(file, `container ${c.name}: Secret ${ref.name} has no key ${ref.key}`);
        }
        const ports = new Set((c.ports || []).map((p) => p.name).filter(Boolean));
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
          const p = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
          if (typeof p === "string" && !ports.has(p)) fail(file, `container ${c.name}: probe port ${p} is not declared`);
        }
      }
      const annotations = tpl?.metadata?.annotations || {};
      for (const key of Object.keys(annotations)) {
        const m = /^container\.apparmor\.security\.beta\.kubernetes\.io\/(.+)$/.exec(key);
        if (m && !(spec.containers || []).some((c) => c.name === m[1])) fail(file, `AppArmor annotation names no container: ${m[1]}`);
      }
    }
  }
  for (const { file, doc } of byKind("Service")) {
    const sel = doc.spec?.selector || {};
    const target = all.find((x) => podSpecs(x.doc).some((t) =>
      x.doc.metadata.namespace === doc.metadata.namespace &&
      Object.entries(sel).every(([k, v]) => (t?.metadata?.labels || {})[k] === v)));
    if (!target) { fail(file, `Service/${doc.metadata.name}: selects no workload of the set`); continue; }
    const names = new Set();
    for (const c of target.doc.spec.template.spec.containers || []) for (const p of c.ports || []) names.add(p.name);
    for (const p of doc.spec.ports || [])
      if (typeof p.targetPort === "string" && !names.has(p.targetPort)) fail(file, `Service/${doc.metadata.name}: targetPort ${p.targetPort} is not a port of ${target.doc.metadata.name}`);
  }
}

// ---- main -----------------------------------------------------------------------------------------
const files = process.argv.slice(2);
const all = [];
for (const file of files) {
  const docs = parseAllDocuments(fs.readFileSync(file, "utf8"));
  for (const d of docs) {
    if (d.errors.length) { fail(file, `YAML: ${d.errors[0].message}`); continue; }
    const doc = d.toJS();
    if (!doc) continue;
    if (doc.kind === "Kustomization") {
      for (const r of doc.resources || []) {
        const p = path.join(path.dirname(file), r);
        if (!fs.existsSync(p)) fail(file, `resource ${r} does not exist`);
        else if (!files.some((f) => path.resolve(f) === path.resolve(p))) fail(file, `resource ${r} was not given to check`);
      }
      continue;
    }
    if (!doc.apiVersion || !doc.kind) { fail(file, "a document without apiVersion/kind"); continue; }
    await schemaCheck(file, doc);
    const Cls = await modelClass(className(doc));
    if (!Cls) fail(file, `${doc.kind} ${doc.apiVersion}: no model for unknown-field checks`);
    else await walk(file, doc, className(doc), "");
    all.push({ file, doc });
  }
}
references(all);
for (const file of files) {
  const mine = failures.filter((f) => f.startsWith(file + ": "));
  if (mine.length) console.log(`FAIL ${file}: ${mine.map((m) => m.slice(file.length + 2)).join("; ")}`);
  else console.log(`ok ${file}`);
}
process.exit(failures.length ? 1 : 0);
