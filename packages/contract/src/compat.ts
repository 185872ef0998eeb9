import type { Json } from "./openapi";

/**
 * Backward compatibility of a published OpenAPI document: what a new version of the contract
 * may not do to clients of the old one without a new major version. Breaking: removing a
 * route, adding a required request field (body or query), removing a response field, or
 * changing a field's type. Adding routes, optional fields and response fields is fine.
 */
export function breakingChanges(beforeDoc: Json, afterDoc: Json): string[] {
  const before = inlineRefs(beforeDoc);
  const after = inlineRefs(afterDoc);
  const out: string[] = [];
  for (const [path, ops] of Object.entries<Json>(before.paths ?? {})) {
    for (const [method, old] of Object.entries<Json>(ops)) {
      const op = after.paths?.[path]?.[method];
      const where = `${method.toUpperCase()} ${path}`;
      if (!op) {
        out.push(`${where}: route removed`);
        continue;
      }
      compareParameters(where, old.parameters ?? [], op.parameters ?? [], out);
      const oldBody = firstContent(old.requestBody?.content);
      const newBody = firstContent(op.requestBody?.content);
      if (newBody) compareRequest(`${where} request`, oldBody ?? {}, newBody, out);
      const status = Object.keys(old.responses ?? {}).find((s) => s.startsWith("2"));
      if (status) {
        const oldRes = firstContent(old.responses[status]?.content);
        const newRes = firstContent(op.responses?.[status]?.content);
        if (oldRes && !newRes) out.push(`${where}: ${status} response removed`);
        else if (oldRes) compareResponse(`${where} response`, oldRes, newRes, out);
      }
    }
  }
  return out;
}

/** Whether `after` may be published over `before`: no breaking change, or a higher major version. */
export function checkCompatibility(before: Json, after: Json): { ok: boolean; breaking: string[] } {
  const breaking = breakingChanges(before, after);
  const major = (doc: Json) => Number(String(doc.info?.version ?? "0").split(".")[0]);
  return { ok: breaking.length === 0 || major(after) > major(before), breaking };
}

/** The document with every local `$ref` replaced by what it points at. */
function inlineRefs(doc: Json): Json {
  const seen = new Set<string>();
  const walk = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== "object") return v;
    if (typeof v.$ref === "string" && v.$ref.startsWith("#/") && !seen.has(v.$ref)) {
      const target = v.$ref
        .slice(2)
        .split("/")
        .reduce((o: Json, k: string) => o?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
      seen.add(v.$ref);
      const out = walk(target);
      seen.delete(v.$ref);
      return out;
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
  };
  return walk(doc);
}

function firstContent(content: Json): Json | undefined {
  if (!content) return undefined;
  const first = Object.values<Json>(content)[0];
  return first?.schema;
}

function typeOf(s: Json): string | undefined {
  if (!s || typeof s !== "object") return undefined;
  if (s.type !== undefined) return JSON.stringify([s.type].flat().sort());
  const alts = s.anyOf ?? s.oneOf;
  if (Array.isArray(alts)) {
    const types = alts.map(typeOf);
    if (types.every((t) => t !== undefined)) return JSON.stringify([...new Set(types)].sort());
  }
  return undefined;
}

function compareType(where: string, a: Json, b: Json, out: string[]): boolean {
  const ta = typeOf(a);
  const tb = typeOf(b);
  if (ta !== undefined && tb !== undefined && ta !== tb) {
    out.push(`${where}: type changed from ${ta} to ${tb}`);
    return false;
  }
  return true;
}

function compareParameters(where: string, before: Json[], after: Json[], out: string[]): void {
  const old = new Map(before.map((p) => [`${p.in}:${p.name}`, p]));
  for (const p of after) {
    const prev = old.get(`${p.in}:${p.name}`);
    if (!prev && p.required) out.push(`${where}: new required ${p.in} parameter '${p.name}'`);
    else if (prev && p.required && !prev.required)
      out.push(`${where}: ${p.in} parameter '${p.name}' became required`);
    if (prev) compareType(`${where} ${p.in} parameter '${p.name}'`, prev.schema, p.schema, out);
  }
}

/** A request may not demand more: no new required field, no field of another type. */
function compareRequest(where: string, before: Json, after: Json, out: string[]): void {
  if (!compareType(where, before, after, out)) return;
  const oldRequired = new Set<string>(before.required ?? []);
  const oldProps = before.properties ?? {};
  for (const name of after.required ?? []) {
    if (!oldRequired.has(name)) out.push(`${where}: new required field '${name}'`);
  }
  for (const [name, s] of Object.entries<Json>(after.properties ?? {})) {
    if (oldProps[name]) compareRequest(`${where}.${name}`, oldProps[name], s, out);
  }
  if (before.items && after.items) compareRequest(`${where}[]`, before.items, after.items, out);
}

/** A response may not give less: every field stays, with its type. */
function compareResponse(where: string, before: Json, after: Json, out: string[]): void {
  if (!compareType(where, before, after, out)) return;
  const newProps = after.properties ?? {};
  for (const [name, s] of Object.entries<Json>(before.properties ?? {})) {
    if (!newProps[name]) out.push(`${where}: field '${name}' removed`);
    else compareResponse(`${where}.${name}`, s, newProps[name], out);
  }
  if (before.items && after.items) compareResponse(`${where}[]`, before.items, after.items, out);
}
