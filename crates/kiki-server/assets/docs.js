// Renders /openapi.json as a readable reference: operations grouped by tag,
// with parameters, request bodies, responses and resolved schemas.
"use strict";
(function () {
  const el = (tag, attrs, ...kids) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") n.className = v; else n.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) n.append(k.nodeType ? k : String(k));
    return n;
  };
  let spec;
  const resolve = (s) => {
    if (s && s.$ref) {
      const name = s.$ref.split("/").pop();
      return (spec.components && spec.components.schemas && spec.components.schemas[name]) || {};
    }
    return s || {};
  };
  const typeOf = (s) => {
    if (!s) return "any";
    if (s.$ref) return s.$ref.split("/").pop();
    if (Array.isArray(s.type)) return s.type.join(" | ");
    if (s.type === "array") return "array of " + typeOf(s.items);
    if (s.oneOf) return s.oneOf.map(typeOf).join(" | ");
    if (s.allOf) return s.allOf.map(typeOf).join(" & ");
    if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(" | ");
    return (s.type || "object") + (s.format ? " (" + s.format + ")" : "");
  };
  const schemaTable = (s, depth) => {
    s = resolve(s);
    if (s.allOf) s = Object.assign({}, ...s.allOf.map(resolve));
    if (!s.properties) return el("p", { class: "type" }, typeOf(s));
    const required = new Set(s.required || []);
    const t = el("table", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "description")));
    for (const [name, prop] of Object.entries(s.properties)) {
      const desc = el("td", {}, resolve(prop).description || prop.description || "");
      const inner = resolve(prop.type === "array" ? prop.items : prop);
      if (depth < 2 && inner.properties) desc.append(schemaTable(inner, depth + 1));
      t.append(el("tr", {}, el("td", {}, el("code", {}, name), required.has(name) ? el("span", { class: "req" }, " required") : null),
        el("td", {}, typeOf(prop)), desc));
    }
    return t;
  };
  const render = () => {
    const q = document.getElementById("filter").value.toLowerCase();
    const ops = document.getElementById("ops");
    const toc = document.getElementById("toc");
    ops.textContent = ""; toc.textContent = "";
    const byTag = new Map();
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const [method, op] of Object.entries(item)) {
        if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
        const tag = (op.tags && op.tags[0]) || "other";
        const hay = (path + " " + tag + " " + (op.summary || "") + " " + (op.description || "")).toLowerCase();
        if (q && !hay.includes(q)) continue;
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push({ path, method, op });
      }
    }
    for (const [tag, list] of [...byTag.entries()].sort()) {
      toc.append(el("h3", {}, tag));
      const section = el("section", {}, el("h2", { id: "tag-" + tag }, tag));
      for (const { path, method, op } of list) {
        const id = method + path.replace(/[^a-zA-Z0-9]/g, "-");
        toc.append(el("a", { href: "#" + id }, el("span", { class: "m " + method }, method.toUpperCase()), " " + path));
        const card = el("article", { id }, el("h4", {}, el("span", { class: "m " + method }, method.toUpperCase()), " ", el("code", {}, path)));
        if (op.summary) card.append(el("p", { class: "summary" }, op.summary));
        if (op.description && op.description !== op.summary) card.append(el("p", {}, op.description));
        if (op.parameters && op.parameters.length) {
          const t = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "description")));
          for (const p of op.parameters) t.append(el("tr", {}, el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "req" }, " required") : null), el("td", {}, p.in), el("td", {}, typeOf(p.schema)), el("td", {}, p.description || "")));
          card.append(el("h5", {}, "Parameters"), t);
        }
        if (op.requestBody) {
          const content = op.requestBody.content || {};
          for (const [ct, media] of Object.entries(content)) card.append(el("h5", {}, "Request body (" + ct + ")"), schemaTable(media.schema, 0));
        }
        card.append(el("h5", {}, "Responses"));
        for (const [code, r] of Object.entries(op.responses || {})) {
          const resp = el("div", { class: "resp" }, el("strong", {}, code), " " + (r.description || ""));
          const content = r.content || {};
          for (const media of Object.values(content)) if (media.schema) resp.append(schemaTable(media.schema, 1));
          card.append(resp);
        }
        section.append(card);
      }
      ops.append(section);
    }
    if (!byTag.size) ops.append(el("p", {}, "No operation matches."));
  };
  fetch("/openapi.json").then((r) => r.json()).then((s) => {
    spec = s;
    document.getElementById("meta").textContent = (s.info.title || "API") + " " + (s.info.version || "") + " · OpenAPI " + s.openapi;
    document.getElementById("filter").addEventListener("input", render);
    render();
  }).catch((e) => { document.getElementById("meta").textContent = "Could not load /openapi.json: " + e; });
})();
