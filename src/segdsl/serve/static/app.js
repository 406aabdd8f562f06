// segdsl serve: the page. Plain JavaScript, no library, nothing loaded from elsewhere.
// Every figure comes from the server's JSON endpoints (one library call each); charts
// arrive as SVG drawn by the server. Text from the project is set with textContent,
// never parsed as HTML.
"use strict";

const main = document.getElementById("main");
const errorBox = document.getElementById("error");
let project = null;

// ------------------------------------------------------------------ helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// An SVG drawn by the server (its text escaped there), as a node.
function svgNode(text) {
  const box = h("div", { class: "svg" });
  box.innerHTML = text;
  return box;
}

const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%");
const pct2 = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(2) + "%");

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : "the server answered " + status);
    this.status = status;
    this.diagnostics = (body && body.diagnostics) || [];
    this.rendered = (body && body.rendered) || null;
  }
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new ApiError(0, { error: "the segdsl server cannot be reached; is `segdsl serve` still running?" });
  }
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function showError(err) {
  errorBox.hidden = false;
  errorBox.replaceChildren(h("strong", { text: "Error: " }), err.message || String(err),
    diagnosticList(err.diagnostics || []));
}

function clearError() {
  errorBox.hidden = true;
  errorBox.replaceChildren();
}

function diagnosticList(diags) {
  if (!diags.length) return null;
  return h("ul", { class: "diagnostics" }, diags.map((d) => {
    const where = d.location && d.location.line ? `${d.location.file}:${d.location.line}:${d.location.column}` : "";
    return h("li", { class: "diag " + d.severity, "data-code": d.code },
      h("span", { class: "code", text: `${d.severity}[${d.code}]` }), " ",
      h("span", { class: "message", text: d.message }),
      where ? h("span", { class: "where", text: " at " + where }) : null,
      d.label ? h("div", { class: "label", text: d.label }) : null,
      d.help ? h("div", { class: "help", text: "help: " + d.help }) : null);
  }));
}

function section(title, ...children) {
  const id = "h-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return h("section", { "aria-labelledby": id }, h("h2", { id, text: title }), ...children);
}

function page(title, ...children) {
  document.title = `${title} — segdsl`;
  main.replaceChildren(h("h1", { text: title }), ...children);
  main.setAttribute("aria-busy", "false");
}

// ------------------------------------------------------------------ header

async function loadProject() {
  project = await api("/api/project");
  document.getElementById("project-name").textContent = `segdsl · ${project.project || project.entity}`;
  document.getElementById("as-of").textContent = project.as_of;
  document.getElementById("source").textContent = project.source;
  const links = document.getElementById("journey-links");
  links.replaceChildren(...project.journeys.map((j) => h("a", { href: `#/journey/${j.name}`, text: `Journey: ${j.title || j.name}` })));
  if (project.diagnostics.length) showError({ message: "the project has errors", diagnostics: project.diagnostics });
}

// ------------------------------------------------------------------ diagram

async function showDiagram() {
  const data = await api("/api/diagram");
  const segments = data.nodes.filter((n) => n.column === "segments");
  page("The CRM and its audiences",
    h("p", { class: "lead", text: "Raw tables → the derived profile → segments → the journeys and syncs that act on them. Select a segment for its page." }),
    h("figure", { class: "diagram-box" }, svgNode(data.svg),
      h("figcaption", { text: "Drawn from the project's schema and .seg files; sizes computed at the as-of above." })),
    section("Segments",
      h("div", { class: "scroll" }, h("table", { class: "table", id: "segments" },
        h("caption", { text: `Sizes of ${fmt(data.total)} profiles at the as-of above; entered and exited at the last refresh.` }),
        h("thead", {}, h("tr", {}, ["Segment", "Size", "Share", "Cadence", "Last refresh", "Entered", "Exited"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, segments.map((n) => h("tr", { "data-segment": n.name },
          h("th", { scope: "row" }, h("a", { href: n.href, text: n.label })),
          h("td", { class: "size", text: fmt(n.size) }), h("td", { text: pct(n.share) }), h("td", { text: n.cadence }),
          h("td", { text: n.last_refresh ? n.last_refresh.as_of : "never" }),
          h("td", { text: n.last_refresh ? "+" + fmt(n.last_refresh.entered) : "–" }),
          h("td", { text: n.last_refresh ? "−" + fmt(n.last_refresh.exited) : "–" }))))))));
}

// ------------------------------------------------------------------ segment

function ruleView(tokens) {
  return h("pre", { class: "rule", "aria-label": "The rule as written" },
    h("code", {}, tokens.map(([kind, text]) => (kind ? h("span", { class: "t-" + kind, text }) : text))));
}

async function showSegment(name) {
  const seg = await api(`/api/segments/${encodeURIComponent(name)}`);
  const stats = h("dl", { class: "stats" },
    stat("Size", fmt(seg.size), "size"), stat("Share", `${pct(seg.share)} of ${fmt(seg.total)}`),
    stat("Cadence", seg.cadence),
    stat("Last refresh", seg.last_refresh ? `${seg.last_refresh.as_of} (+${fmt(seg.last_refresh.entered)} / −${fmt(seg.last_refresh.exited)})` : "never refreshed"));
  const history = h("div", {}, h("p", { text: "Loading…" }));
  const overlap = h("div", {}, h("p", { text: "Loading…" }));
  const sample = h("div", {}, h("p", { text: "Loading…" }));
  page(seg.title ? `${seg.title} (${seg.name})` : seg.name,
    seg.description ? h("p", { class: "lead", text: seg.description }) : null,
    stats,
    section("Rule", h("p", { class: "muted", text: `${seg.file}, line ${seg.line}` }), ruleView(seg.tokens)),
    section("Size over time", history),
    section("Overlap with other segments", overlap),
    section("Members", sample),
    section("Why is this guest (not) a member?", explainForm(seg)));
  await Promise.all([
    fillHistory(seg, history).catch((e) => history.replaceChildren(h("p", { class: "error", text: e.message }))),
    fillOverlap(seg, overlap).catch((e) => overlap.replaceChildren(h("p", { class: "error", text: e.message }))),
    fillSample(seg, sample).catch((e) => sample.replaceChildren(h("p", { class: "error", text: e.message }))),
  ]);
}

function stat(label, value, id) {
  return h("div", {}, h("dt", { text: label }), h("dd", { text: value, id: id ? "stat-" + id : null }));
}

async function fillHistory(seg, box) {
  const data = await api(`/api/segments/${encodeURIComponent(seg.name)}/history`);
  if (!data.runs.length) {
    box.replaceChildren(h("p", { text: `No refresh recorded yet (run \`segdsl refresh\` to start the history). Size now: ${fmt(seg.size)}.` }));
    return;
  }
  const changes = data.last_changes;
  const keyList = (label, keys, count) => h("p", { class: "keys" }, h("strong", { text: `${label} (${fmt(count)}): ` }),
    count ? keys.join(", ") + (count > keys.length ? ` … and ${fmt(count - keys.length)} more` : "") : "nobody");
  box.replaceChildren(h("figure", {}, svgNode(data.chart), h("figcaption", { text: `From ${data.source}.` })),
    changes ? h("div", { id: "last-changes" }, h("h3", { text: `Who entered and left at the last change (${changes.as_of})` }),
      keyList("Entered", changes.entered, changes.entered_count), keyList("Left", changes.left, changes.left_count)) : null,
    h("table", { class: "table compact" },
      h("thead", {}, h("tr", {}, ["Refresh (as of)", "Size", "Entered", "Exited"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, data.runs.slice(-10).reverse().map((r) => h("tr", {},
        h("td", { text: r.as_of }), h("td", { text: fmt(r.size) }), h("td", { text: "+" + fmt(r.entered) }), h("td", { text: "−" + fmt(r.exited) }))))));
}

async function fillOverlap(seg, box) {
  const data = await api(`/api/segments/${encodeURIComponent(seg.name)}/overlap`);
  const rows = data.overlaps.map((o) => h("tr", {},
    h("th", { scope: "row" }, h("a", { href: `#/segment/${o.segment}`, text: o.segment })),
    h("td", { text: fmt(o.size) }),
    h("td", { class: "num" }, h("span", { class: "minibar", "data-share": o.both / Math.max(1, data.size) }), fmt(o.both)),
    h("td", { text: data.size ? pct(o.both / data.size) : "–" }),
    h("td", { text: o.jaccard.toFixed(3) })));
  const table = h("table", { class: "table compact" },
    h("caption", { text: `Members of ${seg.name} (${fmt(data.size)}) also in each other segment` }),
    h("thead", {}, h("tr", {}, ["Segment", "Its size", "Shared", `Share of ${seg.name}`, "Jaccard"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows));
  for (const bar of table.querySelectorAll(".minibar")) bar.style.width = Math.round(60 * Number(bar.dataset.share)) + "px";
  const choices = data.overlaps.map((o) => o.segment);
  const pick = (id, label) => h("label", { for: id }, label,
    h("select", { id }, h("option", { value: "", text: "(none)" }), choices.map((c) => h("option", { value: c, text: c }))));
  const venn = h("div", { class: "venn-box", "aria-live": "polite" });
  const form = h("form", { class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    const others = ["venn-a", "venn-b"].map((id) => document.getElementById(id).value).filter(Boolean);
    if (!others.length) { venn.replaceChildren(h("p", { text: "Choose one or two segments to compare." })); return; }
    try {
      const q = others.map((o) => "with=" + encodeURIComponent(o)).join("&");
      const v = await api(`/api/segments/${encodeURIComponent(seg.name)}/overlap?${q}`);
      venn.replaceChildren(h("figure", {}, svgNode(v.venn.chart),
        h("figcaption", { text: "Circles are not to scale; each region shows its exact number of members." })));
    } catch (e) { venn.replaceChildren(h("p", { class: "error", text: e.message })); }
  } }, pick("venn-a", "Compare with "), pick("venn-b", " and "), h("button", { type: "submit", text: "Draw Venn diagram" }));
  box.replaceChildren(table, h("h3", { text: "Venn diagram (up to three segments)" }), form, venn);
}

async function fillSample(seg, box) {
  const data = await api(`/api/segments/${encodeURIComponent(seg.name)}/sample?limit=20`);
  const csv = h("a", { href: `/api/segments/${encodeURIComponent(seg.name)}/members.csv`, download: `${seg.name}.csv`,
    class: "button", id: "download-csv", text: `Download all ${fmt(data.size)} members (CSV)` });
  box.replaceChildren(
    h("p", {}, `The first ${Math.min(data.limit, data.rows.length)} of ${fmt(data.size)} members, with the columns the rule reads. `, csv),
    h("div", { class: "scroll" }, h("table", { class: "table compact", id: "sample" },
      h("thead", {}, h("tr", {}, data.columns.map((c) => h("th", { scope: "col", text: c })))),
      h("tbody", {}, data.rows.map((r) => h("tr", {}, r.map((v) => h("td", { text: v === null ? "NULL" : String(v), class: v === null ? "null" : null }))))))));
}

function explainForm(seg) {
  const out = h("div", { id: "explain-result", "aria-live": "polite" });
  const input = h("input", { id: "explain-key", name: "key", type: "text", inputmode: "text", autocomplete: "off", required: true, size: 12 });
  const form = h("form", { class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren(h("p", { text: "Explaining…" }));
    try {
      const e = await api(`/api/segments/${encodeURIComponent(seg.name)}/explain?key=${encodeURIComponent(input.value.trim())}`);
      out.replaceChildren(
        h("p", { class: "verdict " + (e.member ? "yes" : "no"), id: "explain-verdict",
          text: `${project.entity} ${e.key} ${e.member ? "is" : "is not"} a member of ${e.segment} (as of ${e.as_of}).` }),
        h("ul", { class: "trace", "aria-label": "Conditions of the rule, each true, false or unknown" }, traceNode(e.tree)),
        Object.keys(e.values).length ? h("table", { class: "table compact" },
          h("caption", { text: "The values the rule reads" }),
          h("tbody", {}, Object.entries(e.values).map(([k, v]) => h("tr", {}, h("th", { scope: "row", text: k }),
            h("td", { text: v === null ? "NULL" : String(v), class: v === null ? "null" : null }))))) : null);
    } catch (err) {
      out.replaceChildren(h("p", { class: "error", text: err.message }), diagnosticList(err.diagnostics));
    }
  } }, h("label", { for: "explain-key", text: `${project ? project.entity : "Profile"} key ` }), input,
    h("button", { type: "submit", text: "Explain" }));
  return h("div", {}, form, out);
}

function traceNode(n) {
  const badge = h("span", { class: "badge " + n.verdict, text: n.verdict.toUpperCase() });
  return h("li", { "data-verdict": n.verdict },
    badge, " ", h("code", { text: n.text }),
    n.details ? h("span", { class: "muted", text: " — " + n.details }) : null,
    n.children.length ? h("ul", {}, n.children.map(traceNode)) : null);
}

// ------------------------------------------------------------------ editor

let editorSeq = 0;
let editorTimer = null;

function showEditor() {
  const text = h("textarea", { id: "rule", rows: 5, spellcheck: "false", "aria-describedby": "rule-status rule-diagnostics",
    autocomplete: "off", autocapitalize: "off" });
  text.value = sessionStorage.getItem("segdsl-rule") || "ltv >= 50_000 and email_opt_in";
  const status = h("p", { id: "rule-status", class: "status", role: "status", "aria-live": "polite" });
  const diags = h("div", { id: "rule-diagnostics" });
  const target = h("select", { id: "target" }, (project ? project.targets : ["postgres"]).map((t) => h("option", { value: t, text: t })));
  const sql = h("pre", { class: "sql", id: "sql", "aria-label": "Compiled SQL" });
  let compileSeq = 0;
  const compile = async () => {
    const seq = ++compileSeq;
    try {
      const r = await api("/api/rule/compile", { rule: text.value, target: target.value });
      if (seq !== compileSeq) return;
      const params = Object.entries(r.params).map(([k, v]) => `-- ${k} = ${JSON.stringify(v)}`).join("\n");
      sql.textContent = r.sql + (params ? "\n\n-- bound parameters:\n" + params : "");
      if (!r.ok) sql.textContent += "\n\n-- " + r.diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n-- ");
    } catch (e) {
      if (seq !== compileSeq) return;
      sql.textContent = "-- " + e.message + (e.diagnostics.length ? "\n-- " + e.diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n-- ") : "");
    }
  };
  const run = async () => {
    const seq = ++editorSeq;
    sessionStorage.setItem("segdsl-rule", text.value);
    let r;
    try {
      r = await api("/api/rule/check", { rule: text.value });
    } catch (e) {
      if (seq !== editorSeq) return;
      status.textContent = e.message;
      status.className = "status bad";
      diags.replaceChildren(diagnosticList(e.diagnostics) || "",
        e.rendered ? h("pre", { class: "rendered", "aria-label": "The diagnostics as segdsl check prints them", text: e.rendered }) : "");
      return;
    }
    if (seq !== editorSeq) return; // a later keystroke's answer is on its way
    diags.replaceChildren(diagnosticList(r.diagnostics) || "");
    if (r.ok) {
      status.className = "status good";
      status.replaceChildren("Size: ", h("strong", { id: "rule-size", text: fmt(r.size) }), ` of ${fmt(r.total)} (${pct(r.share)}), as of ${r.as_of}`);
      compile();
    } else {
      status.className = "status bad";
      status.textContent = `The rule has ${r.diagnostics.filter((d) => d.severity === "error").length} error(s).`;
    }
  };
  target.addEventListener("change", compile);
  text.addEventListener("input", () => { clearTimeout(editorTimer); editorTimer = setTimeout(run, 120); });
  page("Rule editor",
    h("p", { class: "lead", text: "Type a rule (what follows `where` in a .seg file). Problems and the exact size update as you type. Nothing is saved." }),
    h("label", { for: "rule", class: "block", text: "Rule" }), text, status, diags,
    section("Compile to SQL",
      h("form", { class: "inline", onsubmit: (ev) => { ev.preventDefault(); compile(); } },
        h("label", { for: "target", text: "Target " }), target, h("button", { type: "submit", text: "Compile" })),
      sql));
  run();
  text.focus();
}

// ------------------------------------------------------------------ journey

async function showJourney(name) {
  const j = await api(`/api/journeys/${encodeURIComponent(name)}`);
  const banner = h("p", { class: "simulated", role: "note" }, h("strong", { text: "SIMULATED. " }),
    j.note.replace(/^SIMULATED: /, ""), ` The audience is real: the journey's rule evaluated at ${j.as_of}. Seed ${j.seed}.`);
  const figure = (svg, caption) => h("figure", {}, svgNode(svg), h("figcaption", {}, h("strong", { text: "SIMULATED: " }), caption));
  page(j.title ? `${j.title} (${j.journey})` : j.journey,
    j.description ? h("p", { class: "lead", text: j.description }) : null,
    banner,
    section("Funnel", figure(j.charts.funnel, `enrolled → sent → opened → clicked → converted (goal: ${j.goal}).`)),
    section("Per step", j.charts.steps.map((s) => h("div", {},
      h("h3", { text: `Step ${s.index}: ${s.channel} “${s.template}”${s.condition ? " " + s.condition : ""}` }),
      figure(s.chart, `contacts sent, opened and clicked at step ${s.index}.`)))),
    section("Per channel", j.charts.channels.map((c) => h("div", {}, h("h3", { text: c.channel }),
      figure(c.chart, `sends on ${c.channel}, all steps.`)))),
    section("Steps",
      h("table", { class: "table compact" },
        h("caption", { text: "SIMULATED figures" }),
        h("thead", {}, h("tr", {}, ["Step", "Kind", "Channel", "Template", "Condition", "Sent", "Opened", "Clicked", "Unreachable"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, j.steps.map((s) => h("tr", {}, [s.index, s.kind, s.channel || "", s.template || "", s.condition || "",
          s.kind === "send" ? fmt(s.sent) : "", s.kind === "send" ? fmt(s.opened) : "", s.kind === "send" ? fmt(s.clicked) : "",
          s.kind === "send" ? fmt(s.unreachable) : ""].map((v) => h("td", { text: v })))))),
      h("p", { class: "hint", text: `Messages sent, all steps: ${fmt(j.messages)}. Unreachable: enrolled, but without consent or an address for the channel (as segdsl sync).` })),
    (j.holdouts || []).length ? section("Holdout comparison",
      h("table", { class: "table compact holdouts" },
        h("caption", { text: "SIMULATED conversion: the holdout is sent nothing" }),
        h("thead", {}, h("tr", {}, ["Group", "Contacts", "Converted", "Conversion", "Lift"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {},
          h("tr", {}, ["treated audience", fmt(j.holdouts[0].treated), fmt(j.holdouts[0].treated_converted),
            pct2(j.holdouts[0].treated_conversion), ""].map((v) => h("td", { text: v }))),
          j.holdouts.map((x) => h("tr", {}, [`holdout ${x.holdout}`, fmt(x.size), fmt(x.converted), pct2(x.conversion),
            `${x.lift_points >= 0 ? "+" : ""}${x.lift_points.toFixed(2)} points`].map((v) => h("td", { text: v }))))))) : null);
}

// ------------------------------------------------------------------ routing

async function route() {
  clearError();
  main.setAttribute("aria-busy", "true");
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  for (const a of document.querySelectorAll("header nav a")) {
    a.toggleAttribute("aria-current", a.getAttribute("href") === (location.hash || "#/"));
  }
  try {
    if (!project) await loadProject();
    if (parts[0] === "segment" && parts[1]) await showSegment(parts[1]);
    else if (parts[0] === "journey" && parts[1]) await showJourney(parts[1]);
    else if (parts[0] === "editor") showEditor();
    else await showDiagram();
  } catch (e) {
    page("Something went wrong", h("p", { text: "The page could not be shown; see the message above." }));
    showError(e);
  }
  main.setAttribute("aria-busy", "false");
  if (parts[0] !== "editor") main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", route);
route();
