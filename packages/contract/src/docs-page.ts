/**
 * A self-contained reference page for the API (no CDN: inline CSS and JS that fetch the
 * OpenAPI document beside it and render every operation by tag, with its parameters,
 * request and response schemas and error codes).
 */
export function docsPage(specUrl = "/api/v1/openapi.json"): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Keel API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{background:#0b3d5c;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
input{width:100%;padding:8px;font-size:14px;margin:8px 0 16px;box-sizing:border-box}
h2{border-bottom:1px solid #d0d7de;padding-bottom:4px}
details{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:6px 0}
summary{cursor:pointer;padding:8px 12px;display:flex;gap:12px;align-items:baseline}
.m{font:bold 12px monospace;padding:2px 6px;border-radius:4px;color:#fff;min-width:52px;text-align:center}
.GET{background:#1f6feb}.POST{background:#2da44e}.PUT{background:#bf8700}.PATCH{background:#8250df}.DELETE{background:#cf222e}
.p{font-family:monospace}.s{color:#57606a}.body{padding:0 12px 12px}
pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:400px;font-size:12px}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:2px 8px;text-align:left;font-size:13px}
</style></head>
<body><header><h1>Keel API reference</h1><div id="info"></div></header>
<main><input id="q" placeholder="Filter by path, operation id or summary" autofocus><div id="ops">Loading ${specUrl}...</div></main>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"})[c]);
const json = (v) => "<pre>" + esc(JSON.stringify(v, null, 2)) + "</pre>";
function render(doc, filter) {
  const deref = (s) => (s && s.$ref ? doc.components.schemas[s.$ref.split("/").pop()] : s);
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) {
      const text = (path + " " + op.operationId + " " + op.summary).toLowerCase();
      if (filter && !text.includes(filter)) continue;
      (byTag[op.tags[0]] ??= []).push({ path, method: method.toUpperCase(), op });
    }
  let html = "";
  for (const [tag, list] of Object.entries(byTag)) {
    html += "<h2>" + esc(tag) + "</h2>";
    for (const { path, method, op } of list) {
      html += '<details><summary><span class="m ' + method + '">' + method + '</span><span class="p">' +
        esc(path) + '</span><span class="s">' + esc(op.summary) + "</span></summary><div class=body>";
      html += "<p><b>operationId</b> <code>" + esc(op.operationId) + "</code></p>";
      if (op.parameters) {
        html += "<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>";
        for (const p of op.parameters)
          html += "<tr><td>" + esc(p.name) + "</td><td>" + p.in + "</td><td>" + (p.required ? "yes" : "") +
            "</td><td><code>" + esc(JSON.stringify(p.schema)) + "</code></td></tr>";
        html += "</table>";
      }
      if (op.requestBody)
        for (const [type, c] of Object.entries(op.requestBody.content)) html += "<p><b>request</b> " + esc(type) + "</p>" + json(deref(c.schema));
      for (const [status, r] of Object.entries(op.responses)) {
        html += "<p><b>" + status + "</b> " + esc(r.description) + "</p>";
        if (status.startsWith("2")) for (const [type, c] of Object.entries(r.content ?? {})) html += "<p>" + esc(type) + "</p>" + json(deref(c.schema));
      }
      html += "</div></details>";
    }
  }
  document.getElementById("ops").innerHTML = html || "<p>No operation matches.</p>";
}
fetch(${JSON.stringify(specUrl)}).then((r) => r.json()).then((doc) => {
  document.getElementById("info").textContent = doc.info.title + " " + doc.info.version + " (OpenAPI " + doc.openapi + ")";
  render(doc, "");
  document.getElementById("q").addEventListener("input", (e) => render(doc, e.target.value.toLowerCase()));
}).catch((e) => { document.getElementById("ops").textContent = "Could not load ${specUrl}: " + e; });
</script></body></html>
`;
}
