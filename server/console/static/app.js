// comply console: fills each page from the API, as the signed-in token.
// No framework, no inline script (the CSP forbids it), no other origin.
"use strict";
(function () {
  const body = document.body;
  const page = body.dataset.page;
  const csrf = body.dataset.csrf || "";
  const canDecrypt = body.dataset.decrypt === "true";
  const isAdmin = body.dataset.admin === "true";
  const main = document.getElementById("main");
  const banner = document.getElementById("banner");

  // el builds an element: el("a", {href: "/x"}, "text", child...). Text
  // is always a text node: data never becomes markup.
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of kids.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  function show(...kids) { main.replaceChildren(...kids.flat()); }
  function fail(msg) { banner.textContent = msg; banner.hidden = false; }
  function clearFail() { banner.hidden = true; banner.textContent = ""; }
  function empty(msg) { return el("p", { class: "empty" }, msg); }

  class APIError extends Error { constructor(status, msg) { super(msg); this.status = status; } }
  async function api(path, opts) {
    opts = opts || {};
    const headers = { Accept: "application/json" };
    if (opts.method && opts.method !== "GET") headers["X-CSRF-Token"] = csrf;
    let res;
    try {
      res = await fetch(path, { method: opts.method || "GET", headers, credentials: "same-origin" });
    } catch (e) {
      throw new APIError(0, "The server cannot be reached: " + e.message);
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (res.status === 401) { location.assign("/signin?next=" + encodeURIComponent(location.pathname + location.search)); throw new APIError(401, "signed out"); }
    if (!res.ok) throw new APIError(res.status, (data && data.error) || res.status + " " + res.statusText);
    return data;
  }
  async function guard(fn) {
    try { clearFail(); await fn(); } catch (e) {
      if (e.status === 401) return;
      fail(e.message);
      if (main.querySelector(".loading")) show(empty("Nothing to show."));
    }
  }

  // Times: the API's UTC timestamps ("2026-01-02T03:04:05.000006").
  function parseTS(ts) { return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? ts : ts + "Z"); }
  function pad(n) { return String(n).padStart(2, "0"); }
  function utc(d) { return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()); }
  function timeEl(ts) {
    if (!ts) return el("span", { class: "muted" }, "—");
    const d = parseTS(ts);
    return el("time", { datetime: d.toISOString(), title: "local: " + d.toLocaleString() }, utc(d) + " UTC");
  }
  function num(n, digits) { return n === null || n === undefined ? "—" : Number(n).toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 1 : digits }); }
  function meta(e) { return e.metadata && typeof e.metadata === "object" ? e.metadata : {}; }
  function safetyPill(e) { return e.safety_passed ? el("span", { class: "pill ok" }, "passed") : el("span", { class: "pill bad", title: (e.detectors_triggered || []).join(", ") }, "failed"); }

  // ---- Entries ----
  const entryFilters = [
    ["since", "Since", "select", [["", "all time"], ["1h", "1 hour"], ["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"], ["90d", "90 days"]]],
    ["start", "From (UTC)", "input", "2026-01-02 or RFC 3339"],
    ["end", "To (UTC)", "input", ""],
    ["provider", "Provider", "input", "openai"],
    ["model", "Model", "input", "gpt-4o"],
    ["safety", "Safety", "select", [["", "any"], ["failed", "failed"], ["passed", "passed"]]],
    ["detector", "Detector", "input", "pii"],
    ["conversation_id", "Conversation", "input", ""],
    ["meta", "Metadata key=value", "input", "user_id=user-123"],
    ["content", "Find by content (exact text; the server hashes it)", "textarea", "paste a prompt or a response"],
  ];
  // filtersFromURL returns the page's filters, without its cursor; the
  // older safety_failed=true reads as safety=failed.
  function filtersFromURL() {
    const p = new URLSearchParams(location.search);
    const out = new URLSearchParams();
    for (const [k, v] of p) if (v !== "" && k !== "cursor") out.set(k, v);
    if (out.get("safety_failed") === "true" && !out.has("safety")) { out.delete("safety_failed"); out.set("safety", "failed"); }
    return out;
  }
  function entriesForm(params) {
    const fields = entryFilters.map(([key, label, kind, opt]) => {
      let input;
      if (kind === "select") {
        input = el("select", { name: key, id: "f-" + key }, opt.map(([v, t]) => el("option", { value: v, selected: params.get(key) === v || (!params.get(key) && v === "") }, t)));
      } else if (kind === "textarea") {
        // Find by content: a textarea keeps a pasted prompt's line breaks,
        // and the text is sent as is (not trimmed), since one changed byte
        // is another hash. It goes as input_text or output_text.
        const which = params.has("output_text") && !params.has("input_text") ? "output" : "input";
        input = el("span", { class: "content-find" },
          el("textarea", { name: "content", id: "f-content", rows: 2, placeholder: opt, class: "wide", autocomplete: "off", spellcheck: "false" }),
          el("select", { name: "content_in", id: "f-content-in", "aria-label": "find in" }, [["input", "in the input"], ["output", "in the output"]].map(([v, t]) => el("option", { value: v, selected: v === which }, t))));
        input.firstChild.value = params.get(which + "_text") || "";
      } else {
        let value = params.get(key) || "";
        if (key === "meta") { for (const [k, v] of params) if (k.startsWith("meta.")) value = k.slice(5) + "=" + v; }
        input = el("input", { name: key, id: "f-" + key, value, placeholder: opt, class: key === "meta" ? "wide" : null, autocomplete: "off" });
      }
      return el("label", { for: "f-" + key }, label, input);
    });
    const form = el("form", { class: "filters", id: "filters", role: "search" }, fields, el("button", { type: "submit", class: "primary" }, "Apply"), el("a", { class: "btn", href: "/entries" }, "Clear"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      const fd = new FormData(form);
      for (const [k, v] of fd) {
        if (k === "content_in") continue;
        if (k === "content") { if (String(v) !== "") q.set(fd.get("content_in") === "output" ? "output_text" : "input_text", String(v)); continue; }
        const s = String(v).trim();
        if (!s) continue;
        if (k === "meta") { const i = s.indexOf("="); if (i > 0) q.set("meta." + s.slice(0, i).trim(), s.slice(i + 1).trim()); else { fail("Metadata filter: want key=value"); return; } }
        else q.set(k, s);
      }
      go("/entries" + (q.toString() ? "?" + q : ""));
    });
    return form;
  }
  // go shows url: in place on the same page, else by loading it (a chip
  // on an entry's page leads to the entries page).
  function go(url) {
    if (new URL(url, location.href).pathname !== location.pathname) { location.assign(url); return; }
    history.pushState(null, "", url); render();
  }
  function addFilter(key, value) {
    const q = filtersFromURL(); q.set(key, value);
    go("/entries?" + q);
  }
  function chip(key, value) {
    if (!value) return el("span", { class: "muted" }, "—");
    return el("button", { type: "button", class: "chip", title: "filter by " + key + " = " + value, onclick: (ev) => { ev.stopPropagation(); addFilter(key, value); } }, value);
  }
  async function entriesPage() {
    const params = filtersFromURL();
    const cursor = new URLSearchParams(location.search).get("cursor");
    show(el("h1", {}, "Entries"), entriesForm(params), el("p", { class: "loading" }, "Loading…"));
    const q = new URLSearchParams(params);
    if (cursor) q.set("cursor", cursor);
    if (!q.has("limit")) q.set("limit", "100");
    const data = await api("/v1/entries?" + q);
    const rows = data.entries.map((e) => el("tr", { "data-href": "/entries/" + e.id, tabindex: "0" },
      el("td", {}, timeEl(e.timestamp)), el("td", {}, chip("provider", e.provider)), el("td", {}, chip("model", e.model)),
      el("td", {}, safetyPill(e)), el("td", { class: "num" }, num(e.latency_ms, 0) + " ms"),
      el("td", { class: "num" }, e.input_tokens === null && e.output_tokens === null ? "—" : num(e.input_tokens, 0) + " / " + num(e.output_tokens, 0)),
      el("td", {}, chip("conversation_id", e.conversation_id)), el("td", { class: "hide-s" }, meta(e).user_id ? chip("meta.user_id", String(meta(e).user_id)) : el("span", { class: "muted" }, "—"))));
    const exp = new URLSearchParams(params);
    const table = rows.length ? el("div", { class: "tablewrap" }, el("table", { id: "entries" },
      el("thead", {}, el("tr", {}, ["Time", "Provider", "Model", "Safety", "Latency", "Tokens in/out", "Conversation", "User"].map((h, i) => el("th", { class: i === 4 || i === 5 ? "num" : i === 7 ? "hide-s" : null }, h)))),
      el("tbody", {}, rows))) : empty(params.toString() ? "No entry matches these filters." : "No entries yet: log one with comply log, the proxy or POST /v1/entries.");
    const nav = el("div", { class: "actions" },
      cursor ? el("a", { class: "btn", href: "/entries" + (params.toString() ? "?" + params : ""), id: "newest" }, "« Newest") : null,
      data.next_cursor ? el("a", { class: "btn", id: "next", href: "/entries?" + new URLSearchParams([...params, ["cursor", data.next_cursor]]) }, "Older »") : null,
      el("span", { class: "muted" }, rows.length + " shown"),
      el("span", { class: "muted" }, "Export this view:"),
      el("a", { class: "btn", id: "export-ndjson", href: "/export?" + new URLSearchParams([...exp, ["format", "ndjson"]]), download: "" }, "NDJSON"),
      el("a", { class: "btn", id: "export-csv", href: "/export?" + new URLSearchParams([...exp, ["format", "csv"]]), download: "" }, "CSV"));
    show(el("h1", {}, "Entries"), entriesForm(params), table, nav);
  }

  // ---- Entry ----
  function copyButton(text) {
    return el("button", { type: "button", class: "copy", title: "copy", onclick: async (ev) => {
      try { await navigator.clipboard.writeText(text); ev.target.textContent = "copied"; } catch (e) { fail("Copy failed: " + e.message); }
    } }, "copy");
  }
  function field(label, ...value) { return [el("dt", {}, label), el("dd", {}, ...value)]; }
  async function entryPage() {
    const id = decodeURIComponent(location.pathname.split("/")[2] || "");
    const e = await api("/v1/entries/" + encodeURIComponent(id));
    const m = meta(e);
    const tools = m.tool_calls || m.tools || null;
    const dl = el("dl", { class: "fields" },
      field("ID", el("span", { class: "mono" }, e.id), " ", copyButton(e.id)),
      field("Time", timeEl(e.timestamp)),
      field("Provider", chip("provider", e.provider)), field("Model", chip("model", e.model)),
      field("Conversation", e.conversation_id ? el("a", { href: "/conversations/" + encodeURIComponent(e.conversation_id) }, e.conversation_id) : el("span", { class: "muted" }, "—")),
      field("Safety", safetyPill(e), (e.detectors_triggered || []).map((d) => [" ", chip("detector", d)])),
      field("Block reason", e.block_reason || "—"), field("Alerts", (e.alerts || []).join(", ") || "—"),
      field("Latency", num(e.latency_ms, 1) + " ms"), field("Tokens", "in " + num(e.input_tokens, 0) + ", out " + num(e.output_tokens, 0)),
      field("Input hash", el("span", { class: "mono" }, e.input_hash), " ", copyButton(e.input_hash)),
      field("Output hash", el("span", { class: "mono" }, e.output_hash), " ", copyButton(e.output_hash)),
      field("Content", e.input_content || e.output_content ? "stored, encrypted" : "not stored (hashes only)"));
    const parts = [el("h1", {}, "Entry"), dl, el("h2", {}, "Metadata"), el("pre", { id: "metadata" }, JSON.stringify(m, null, 2))];
    if (tools) parts.push(el("h2", {}, "Tool calls"), el("pre", { id: "tools" }, JSON.stringify(tools, null, 2)));
    parts.push(el("h2", {}, "Proof"), el("p", {}, "The inclusion proof of this entry in the signed log ('comply prove'): ",
      el("a", { class: "btn", id: "proof", href: "/v1/entries/" + encodeURIComponent(e.id) + "/proof", download: "proof-" + e.id + ".txt" }, "Download proof")));
    if (canDecrypt && (e.input_content || e.output_content)) {
      const out = el("div", { id: "decrypted" });
      const reason = el("input", { id: "reason", name: "reason", required: true, class: "wide", placeholder: "ticket, case or purpose", autocomplete: "off" });
      const form = el("form", { class: "filters", id: "decrypt" }, el("label", { for: "reason" }, "Reason (kept in the access log)", reason), el("button", { type: "submit", class: "primary" }, "Show content"));
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        guard(async () => {
          const r = reason.value.trim();
          if (!r) { fail("Give a reason: it is recorded in the access log."); return; }
          const d = await api("/v1/entries/" + encodeURIComponent(e.id) + "/decrypt?reason=" + encodeURIComponent(r), { method: "POST" });
          out.replaceChildren(el("h3", {}, "Input"), el("pre", { id: "input-text" }, d.input === null ? "(not stored)" : d.input), el("h3", {}, "Output"), el("pre", { id: "output-text" }, d.output === null ? "(not stored)" : d.output));
        });
      });
      parts.push(el("h2", {}, "Content"), form, out);
    }
    show(parts);
  }

  // ---- Conversation ----
  async function conversationPage() {
    const id = decodeURIComponent(location.pathname.split("/")[2] || "");
    const data = await api("/v1/entries?" + new URLSearchParams({ conversation_id: id, limit: "1000" }));
    const es = data.entries.slice().reverse();
    const items = es.map((e, i) => el("li", { class: e.safety_passed ? null : "bad" },
      el("a", { href: "/entries/" + e.id }, "Turn " + (i + 1)), " · ", timeEl(e.timestamp), " · ", e.model || "", " · ", safetyPill(e), " · ", num(e.latency_ms, 0) + " ms",
      el("div", { class: "muted mono" }, "in " + e.input_hash.slice(0, 16) + "…  out " + e.output_hash.slice(0, 16) + "…")));
    show(el("h1", {}, "Conversation ", el("span", { class: "mono" }, id)),
      items.length ? el("ol", { class: "timeline", id: "timeline" }, items) : empty("No entries in this conversation."),
      data.next_cursor ? el("p", { class: "muted" }, "Showing the latest 1000 turns.") : null,
      el("p", {}, el("a", { href: "/entries?conversation_id=" + encodeURIComponent(id) }, "As a table")));
  }

  // ---- Dashboard ----
  const charts = [];
  function chart(target, title, xs, series, opts) {
    const width = Math.max(280, target.clientWidth - 16);
    const u = new uPlot(Object.assign({
      title, width, height: 200,
      scales: { x: { time: true }, y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      series: [{}].concat(series.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], fill: s.fill ? palette[i % palette.length] + "33" : undefined, width: 2, paths: s.bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined }))),
      axes: [{ stroke: axisColor(), grid: { stroke: gridColor() } }, { stroke: axisColor(), grid: { stroke: gridColor() } }],
    }, opts || {}), [xs].concat(series.map((s) => s.data)), target);
    charts.push(u);
    return u;
  }
  const palette = ["#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899", "#14b8a6"];
  function dark() { return matchMedia("(prefers-color-scheme: dark)").matches; }
  function axisColor() { return dark() ? "#9aa4af" : "#5b6470"; }
  function gridColor() { return dark() ? "#2c333b" : "#e5e8eb"; }
  function barTable(id, rows, cols) {
    if (!rows.length) return empty("Nothing in this range.");
    const max = Math.max(...rows.map((r) => r[r.length - 1])) || 1;
    return el("table", { id }, el("thead", {}, el("tr", {}, cols.map((c, i) => el("th", { class: i ? "num" : null }, c)), el("th", {}, ""))),
      el("tbody", {}, rows.map((r) => { const b = el("div", { class: "bar" }); b.style.width = Math.round(100 * r[r.length - 1] / max) + "%"; return el("tr", {}, r.map((v, i) => el("td", { class: i ? "num" : null }, i ? num(v) : v)), el("td", { class: "hide-s" }, b)); })));
  }
  async function dashboardPage() {
    const params = new URLSearchParams(location.search);
    const since = params.get("since") || "7d";
    const step = since === "24h" || since === "1h" ? "1h" : "1d";
    const sel = el("select", { id: "range", name: "since" }, [["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"], ["90d", "90 days"]].map(([v, t]) => el("option", { value: v, selected: v === since }, t)));
    sel.addEventListener("change", () => go("/dashboard?since=" + sel.value));
    const head = [el("h1", {}, "Dashboard"), el("div", { class: "filters" }, el("label", { for: "range" }, "Range", sel))];
    show(head, el("p", { class: "loading" }, "Loading…"));
    // The busiest users scan the range (the rollups keep no users): asked
    // for now, shown when they come, without holding the rest back.
    const users = api("/v1/breakdown?" + new URLSearchParams({ by: "user", since, limit: "10" }));
    users.catch(() => {}); // reported where it is awaited
    const st = await api("/v1/stats?since=" + encodeURIComponent(since));
    const cards = el("div", { class: "cards", id: "cards" },
      [["Entries in range", num(st.window_entries, 0)], ["All entries", num(st.total_entries, 0)], ["Safety failures", num(st.safety_failures, 0)], ["Errors", num(st.errors, 0)],
        ["Latency avg", num(st.avg_latency_ms, 0) + " ms"], ["Latency p95", num(st.p95_latency_ms, 0) + " ms"], st.priced_entries ? ["Cost", "$" + num(st.cost_usd, 2)] : null].filter(Boolean)
        .map(([k, v]) => el("div", { class: "card" }, el("b", {}, v), el("span", {}, k))));
    const models = (st.by_model || []).map((m) => [m.model || "(none)", m.entries, m.safety_failures, m.avg_latency_ms, m.p95_latency_ms]);
    const volume = el("div", { class: "chart", id: "chart-volume" });
    const failures = el("div", { class: "chart", id: "chart-failures" });
    const latency = el("div", { class: "chart", id: "chart-latency" });
    const tokens = el("div", { class: "chart", id: "chart-tokens" });
    const extra = el("div", { id: "breakdowns" });
    show(head, cards, el("div", { class: "grid2" }, volume, failures, latency, tokens), extra,
      el("h2", {}, "By model"), models.length ? el("div", { class: "tablewrap" }, el("table", { id: "by-model" }, el("thead", {}, el("tr", {}, ["Model", "Entries", "Safety failures", "Latency avg ms", "Latency p95 ms"].map((h, i) => el("th", { class: i ? "num" : null }, h)))),
        el("tbody", {}, models.map((r) => el("tr", {}, el("td", {}, chip("model", r[0])), r.slice(1).map((v) => el("td", { class: "num" }, num(v)))))))) : empty("No entries in this range."));
    await drawSeries(since, step, { volume, failures, latency, tokens, extra, st, users });
  }
  // drawSeries draws the per-hour or per-day charts from GET
  // /v1/timeseries: the rollups, so it stays fast on big stores.
  async function drawSeries(since, step, t) {
    const ask = (group) => api("/v1/timeseries?" + new URLSearchParams(Object.assign({ since, step }, group ? { group_by: group } : {})));
    const [all, byModel] = await Promise.all([ask(""), ask("model")]);
    const per = step === "1h" ? "per hour" : "per day";
    const sec = (b) => Date.parse(b.start) / 1000;
    const xs = [...new Set([].concat(all.buckets, byModel.buckets).map(sec))].sort((a, b) => a - b);
    if (!all.buckets.length) { for (const c of [t.volume, t.failures, t.latency, t.tokens]) c.replaceChildren(empty("No entries in this range.")); return; }
    // column returns, for each x, f of the bucket of group g (null if none).
    const column = (buckets, g, f) => { const m = new Map(buckets.filter((b) => (b.group || "") === g).map((b) => [sec(b), b])); return xs.map((x) => (m.has(x) ? f(m.get(x)) : null)); };
    const models = [...new Set(byModel.buckets.map((b) => b.group || ""))].sort();
    const bars = uPlot.paths.bars({ size: [0.8, 40] });
    chart(t.volume, "Entries " + per, xs, [{ label: "entries", data: column(all.buckets, "", (b) => b.entries), fill: true, bars: true }]);
    chart(t.failures, "Safety failures " + per, xs, [{ label: "failures", data: column(all.buckets, "", (b) => b.safety_failures) }],
      { series: [{}, { label: "failures", stroke: palette[1], fill: palette[1] + "55", paths: bars }] });
    chart(t.latency, "Latency p50 / p95 by model (ms)", xs, models.flatMap((m) => [{ label: m + " p50", data: column(byModel.buckets, m, (b) => b.p50_latency_ms) }, { label: m + " p95", data: column(byModel.buckets, m, (b) => b.p95_latency_ms) }]));
    chart(t.tokens, "Tokens " + per + " by model", xs, models.map((m) => ({ label: m, data: column(byModel.buckets, m, (b) => b.input_tokens + b.output_tokens) })));
    // The breakdowns: by detector and block reason from GET /v1/stats
    // (the figures of comply stats), the users from GET /v1/breakdown.
    const counts = (xs) => (xs || []).map((r) => [r.name || "(none)", r.entries]);
    const usersBox = el("div", { id: "users" }, el("p", { class: "loading" }, "Counting…"));
    t.extra.replaceChildren(el("div", { class: "grid2" },
      el("div", {}, el("h2", {}, "Safety failures by detector"), barTable("by-detector", counts(t.st.by_detector), ["Detector", "Entries"])),
      el("div", {}, el("h2", {}, "Safety failures by block reason"), barTable("by-block-reason", counts(t.st.by_block_reason), ["Block reason", "Entries"])),
      el("div", {}, el("h2", {}, "Busiest users"), usersBox),
      el("div", {}, el("h2", {}, "Tokens by model"), barTable("tokens-by-model", models.map((m) => [m || "(none)", byModel.buckets.filter((b) => (b.group || "") === m).reduce((s, b) => s + b.input_tokens + b.output_tokens, 0)]).sort((a, b) => b[1] - a[1]), ["Model", "Tokens"]))));
    let u;
    try { u = await t.users; } catch (e) { usersBox.replaceChildren(empty("The users could not be counted: " + e.message)); return; }
    const userRows = u.top.map((r) => [r.name, r.entries]);
    usersBox.replaceChildren(...[barTable("by-user", userRows, ["User (user_id)", "Entries"]),
      u.distinct > userRows.length ? el("p", { class: "muted" }, "Top " + userRows.length + " of " + num(u.distinct, 0) + " users.") : null].filter(Boolean));
  }

  // ---- Integrity ----
  async function integrityPage() {
    const since = new URLSearchParams(location.search).get("since") || "24h";
    const d = await api("/v1/integrity?since=" + encodeURIComponent(since));
    const parts = [el("h1", {}, "Integrity")];
    if (!d.ledger) parts.push(empty("This server keeps no ledger: run comply serve with --signing-key to sign checkpoints."));
    else parts.push(el("h2", {}, "Last checkpoint"), el("dl", { class: "fields", id: "checkpoint" },
      field("Size", num(d.size, 0) + " entries"), field("Root", el("span", { class: "mono" }, d.root), " ", copyButton(d.root)),
      field("Time", timeEl(d.time)), field("Age", num(d.age_seconds, 0) + " s"), field("Key (origin)", el("span", { class: "mono" }, d.origin))),
      el("details", {}, el("summary", {}, "Signed checkpoint"), el("pre", {}, d.checkpoint)));
    if (d.ledger && d.timeline) parts.push(timelineView(d.timeline, since));
    const lv = d.last_verify;
    const verifyOut = el("div", { id: "verify-result" }, lv ? verifyView(lv) : empty("No verify has run since the server started."));
    parts.push(el("h2", {}, "Last verify"), verifyOut);
    if (isAdmin && d.ledger) {
      const btn = el("button", { type: "button", class: "primary", id: "verify" }, "Run verify");
      const bar = el("progress", { id: "verify-progress", max: 1, value: 0, hidden: true });
      const note = el("span", { class: "muted", id: "verify-note" });
      btn.addEventListener("click", () => guard(async () => {
        btn.disabled = true; btn.textContent = "Verifying…"; bar.hidden = false; bar.removeAttribute("value");
        const started = Date.now();
        try {
          const r = await verifyStream((read, total) => {
            if (total > 0) { bar.max = total; bar.value = Math.min(read, total); }
            note.textContent = num(read, 0) + (total > 0 ? " of " + num(total, 0) : "") + " entries read, " + Math.round((Date.now() - started) / 1000) + " s";
          });
          verifyOut.replaceChildren(verifyView(r.result));
        } finally { btn.disabled = false; btn.textContent = "Run verify"; bar.hidden = true; }
      }));
      parts.push(el("div", { class: "actions" }, btn, bar, note));
    }
    show(parts);
  }
  // timelineView draws the heartbeat timeline of GET /v1/integrity: spans
  // of traffic, idle heartbeats and downtime, to scale, and the downtimes
  // listed (an orderly stop or a crash).
  function timelineView(tl, since) {
    const sel = el("select", { id: "tl-range", name: "since" }, [["1h", "1 hour"], ["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"]].map(([v, t]) => el("option", { value: v, selected: v === since }, t)));
    sel.addEventListener("change", () => go("/integrity?since=" + sel.value));
    const head = [el("h2", {}, "Heartbeats"), el("div", { class: "filters" }, el("label", { for: "tl-range" }, "Range", sel))];
    if (tl.unavailable) return el("div", {}, head, empty("No timeline: " + tl.unavailable));
    const spans = tl.spans || [];
    if (!spans.length) return el("div", {}, head, empty("No checkpoint in this range."));
    const t0 = parseTS(spans[0].from).getTime(), t1 = parseTS(spans[spans.length - 1].to).getTime();
    const words = { traffic: "entries logged", idle: "running, no traffic", down: "logger down" };
    const what = (s) => s.state === "down" ? (s.clean ? "logger stopped (closed)" : "logger down (crash or kill)") : words[s.state] + (s.entries ? ": " + num(s.entries, 0) + " entries" : "");
    const bar = el("div", { class: "timeline-bar", id: "heartbeats", role: "img", "aria-label": "heartbeat timeline" }, spans.map((s) => {
      const a = parseTS(s.from), b = parseTS(s.to);
      const d = el("span", { class: "tl-" + s.state + (s.state === "down" && s.clean ? " clean" : ""), title: utc(a) + " – " + utc(b) + " UTC: " + what(s), dataset: { state: s.state } });
      d.style.flexGrow = String(Math.max(b.getTime() - a.getTime(), (t1 - t0) / 500));
      return d;
    }));
    const legend = el("p", { class: "legend muted" }, ["traffic", "idle", "down"].flatMap((k) => [el("span", { class: "swatch tl-" + k }), " " + words[k] + "  "]),
      "· " + num(tl.checkpoints, 0) + " checkpoints in range.");
    const downs = spans.filter((s) => s.state === "down");
    const table = downs.length ? el("div", { class: "tablewrap" }, el("table", { id: "downtimes" },
      el("thead", {}, el("tr", {}, ["From", "To", "Length", "How"].map((h) => el("th", {}, h)))),
      el("tbody", {}, downs.map((s) => el("tr", { class: s.clean ? null : "bad" }, el("td", {}, timeEl(s.from)), el("td", {}, timeEl(s.to)),
        el("td", { class: "num" }, duration(parseTS(s.to) - parseTS(s.from))), el("td", {}, s.clean ? "stopped (closed)" : "crash or kill")))))) : el("p", { class: "muted", id: "no-downtime" }, "No downtime in this range.");
    return el("div", {}, head, bar, legend, table);
  }
  function duration(ms) {
    const s = Math.round(ms / 1000);
    if (s < 120) return s + " s";
    if (s < 7200) return Math.round(s / 60) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  // verifyStream runs POST /v1/verify as NDJSON, calling onProgress(read,
  // total) for each progress line; it returns the last line's result.
  async function verifyStream(onProgress) {
    let res;
    try {
      res = await fetch("/v1/verify", { method: "POST", headers: { Accept: "application/x-ndjson", "X-CSRF-Token": csrf }, credentials: "same-origin" });
    } catch (e) { throw new APIError(0, "The server cannot be reached: " + e.message); }
    if (!res.ok) {
      let data = null; try { data = await res.json(); } catch (e) { /* not JSON */ }
      throw new APIError(res.status, (data && data.error) || res.status + " " + res.statusText);
    }
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "", last = null;
    const take = (line) => {
      if (!line.trim()) return;
      const m = JSON.parse(line);
      if (m.progress) onProgress(m.progress.read, m.progress.total);
      else last = m;
    };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) { take(buf.slice(0, i)); buf = buf.slice(i + 1); }
    }
    take(buf);
    if (!last) throw new APIError(0, "The verify ended without a result.");
    if (last.error) throw new APIError(500, last.error);
    return last;
  }
  function verifyView(v) {
    return el("dl", { class: "fields" }, field("Result", v.ok ? el("span", { class: "pill ok" }, "OK") : el("span", { class: "pill bad" }, "FAILED")),
      field("When", timeEl(v.time)), field("Entries", num(v.entries, 0) + " (" + num(v.valid, 0) + " valid)"), field("Problems", num(v.problems, 0)),
      field("Summary", v.summary || v.error || "—"));
  }

  // ---- Access ----
  async function accessPage() {
    const params = filtersFromURL();
    const fields = [["start", "From (UTC)"], ["end", "To (UTC)"], ["token", "Token name"]].map(([k, l]) => el("label", { for: "a-" + k }, l, el("input", { id: "a-" + k, name: k, value: params.get(k) || "", autocomplete: "off" })));
    const denied = el("select", { id: "a-denied", name: "denied" }, el("option", { value: "" }, "all"), el("option", { value: "true", selected: params.get("denied") === "true" }, "refused only"));
    const form = el("form", { class: "filters", id: "filters", role: "search" }, fields, el("label", { for: "a-denied" }, "Outcome", denied), el("button", { type: "submit", class: "primary" }, "Apply"), el("a", { class: "btn", href: "/access" }, "Clear"));
    form.addEventListener("submit", (ev) => { ev.preventDefault(); const q = new URLSearchParams(); for (const [k, v] of new FormData(form)) if (String(v).trim()) q.set(k, String(v).trim()); go("/access" + (q.toString() ? "?" + q : "")); });
    show(el("h1", {}, "Access log"), form, el("p", { class: "loading" }, "Loading…"));
    const d = await api("/v1/access?" + params);
    const recs = d.records.slice().reverse();
    const rows = recs.slice(0, 2000).map((r) => el("tr", { class: r.denied ? "bad" : null },
      el("td", {}, timeEl(r.time)), el("td", {}, r.token || "—"), el("td", {}, r.role || ""), el("td", { class: "mono" }, r.route),
      el("td", { class: "mono" }, Object.entries(r.filters || {}).map(([k, v]) => k + "=" + v).join(" ")),
      el("td", { class: "mono" }, (r.ids || []).map((id) => el("a", { href: "/entries/" + id }, id.slice(0, 8) + "…"))),
      el("td", { class: "num" }, r.count < 0 ? "stream" : num(r.count, 0)), el("td", { class: "num" }, r.status),
      el("td", {}, r.denied ? el("span", { class: "pill bad" }, "refused") : "", " ", r.reason || "")));
    show(el("h1", {}, "Access log"), form, rows.length ? el("div", { class: "tablewrap" }, el("table", { id: "access" },
      el("thead", {}, el("tr", {}, ["Time", "Token", "Role", "Route", "Filters", "Entries", "Count", "Status", "Outcome"].map((h) => el("th", {}, h)))), el("tbody", {}, rows))) : empty("No access matches."),
    recs.length > 2000 ? el("p", { class: "muted" }, "Showing the newest 2000 of " + recs.length + " records: narrow the range.") : null);
  }

  // ---- Reports ----
  const frameworkNames = [["eu-ai-act", "EU AI Act"], ["soc2", "SOC 2"], ["hipaa", "HIPAA"], ["iso42001", "ISO 42001"], ["gdpr", "GDPR"]];
  const statusClass = { pass: "ok", fail: "bad", not_evidenced: "warn", not_applicable: "na", manual: "manual" };
  function statusPill(s) { return el("span", { class: "pill status " + (statusClass[s] || ""), dataset: { status: s } }, s.replace("_", " ")); }
  // presetPeriod returns the period label of a preset, in UTC.
  function presetPeriod(preset) {
    const now = new Date();
    let y = now.getUTCFullYear(), m = now.getUTCMonth(); // 0-based
    const q = Math.floor(m / 3) + 1;
    switch (preset) {
      case "this-month": return y + "-" + pad(m + 1);
      case "last-month": return m === 0 ? (y - 1) + "-12" : y + "-" + pad(m);
      case "this-quarter": return y + "-Q" + q;
      case "last-quarter": return q === 1 ? (y - 1) + "-Q4" : y + "-Q" + (q - 1);
    }
    return "";
  }
  function reportForm(params) {
    const chosen = (params.get("framework") || "all").split(",");
    const boxes = frameworkNames.map(([v, t]) => el("label", { class: "check", for: "fw-" + v },
      el("input", { type: "checkbox", id: "fw-" + v, name: "framework", value: v, checked: chosen.includes("all") || chosen.includes(v) }), t));
    const presets = [["this-month", "This month"], ["last-month", "Last month"], ["this-quarter", "This quarter"], ["last-quarter", "Last quarter"], ["custom", "Custom"]];
    const current = params.has("start") || params.has("end") ? "custom" : presets.map((p) => p[0]).find((p) => presetPeriod(p) === params.get("period")) || "this-month";
    const sel = el("select", { id: "r-period", name: "preset" }, presets.map(([v, t]) => el("option", { value: v, selected: v === current }, t)));
    const start = el("input", { id: "r-start", name: "start", value: params.get("start") || "", placeholder: "2026-01-01", autocomplete: "off" });
    const end = el("input", { id: "r-end", name: "end", value: params.get("end") || "", placeholder: "2026-01-31", autocomplete: "off" });
    const custom = el("span", { class: "custom" }, el("label", { for: "r-start" }, "From (UTC)", start), el("label", { for: "r-end" }, "To (UTC)", end));
    const sync = () => { custom.hidden = sel.value !== "custom"; };
    sel.addEventListener("change", sync); sync();
    const form = el("form", { class: "filters", id: "report-form" },
      el("fieldset", { class: "frameworks" }, el("legend", {}, "Frameworks"), boxes),
      el("label", { for: "r-period" }, "Period", sel), custom,
      el("button", { type: "submit", class: "primary", id: "generate" }, "Generate"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      const fws = [...form.querySelectorAll("input[name=framework]:checked")].map((b) => b.value);
      if (!fws.length) { fail("Choose at least one framework."); return; }
      q.set("framework", fws.length === frameworkNames.length ? "all" : fws.join(","));
      if (sel.value === "custom") {
        if (!start.value.trim() || !end.value.trim()) { fail("A custom period needs a start and an end."); return; }
        q.set("start", start.value.trim()); q.set("end", end.value.trim());
      } else q.set("period", presetPeriod(sel.value));
      go("/reports?" + q);
    });
    return form;
  }
  function figuresText(f) {
    return Object.entries(f || {}).map(([k, v]) => k + ": " + (v !== null && typeof v === "object" ? JSON.stringify(v) : String(v))).join("; ");
  }
  function card(value, label) { return el("div", { class: "card" }, el("b", {}, value), el("span", {}, label)); }
  function pct(x) { return num(100 * (x || 0), 1) + " %"; }
  async function reportsPage() {
    const params = new URLSearchParams();
    for (const [k, v] of new URLSearchParams(location.search)) if (["framework", "period", "start", "end"].includes(k) && v) params.set(k, v);
    const head = [el("h1", {}, "Reports"), reportForm(params)];
    if (!params.has("period") && !params.has("start") && !params.has("end")) {
      show(head, empty("Choose the frameworks and a period, then Generate: the report is built from the store as the signed-in token reads it."));
      return;
    }
    show(head, el("p", { class: "loading" }, "Building the report…"));
    const r = await api("/v1/reports?" + params);
    const dl = (fmt, label) => el("a", { class: "btn", id: "download-" + fmt, href: "/v1/reports?" + new URLSearchParams([...params, ["format", fmt]]), download: "comply-report-" + (r.period.label || "custom") + "." + fmt }, label);
    const counts = {};
    for (const c of r.controls) counts[c.status] = (counts[c.status] || 0) + 1;
    const summary = el("div", { class: "cards", id: "report-figures" },
      card(num(r.population.entries, 0), "entries in the period"),
      card(num(r.coverage.hours_with_entries, 0) + " / " + num(r.coverage.hours, 0), "hours with entries"),
      card(r.integrity.verified ? (r.integrity.ok ? "verified" : "FAILED") : "not verified", "integrity"),
      card(num(r.safety.failures, 0) + " (" + pct(r.safety.block_rate) + ")", "safety failures"),
      card(num((r.incidents.candidates || []).length, 0), "serious incident candidates"),
      card(num(counts.pass || 0, 0) + " / " + num(r.controls.length, 0), "controls pass; " + ["fail", "not_evidenced", "manual", "not_applicable"].map((s) => (counts[s] || 0) + " " + s.replace("_", " ")).join(", ")));
    const rows = r.controls.map((c) => el("tr", { class: c.status === "fail" ? "bad" : null, dataset: { control: c.id } },
      el("td", {}, c.framework), el("td", { class: "mono" }, c.id.split("/").slice(1).join("/")), el("td", {}, c.ref),
      el("td", { class: "wrap" }, c.statement), el("td", {}, statusPill(c.status)),
      el("td", { class: "wrap mono small" }, figuresText(c.figures)), el("td", { class: "wrap" }, c.next || "—")));
    const controls = rows.length ? el("div", { class: "tablewrap" }, el("table", { id: "controls" },
      el("thead", {}, el("tr", {}, ["Framework", "Control", "Reference", "Statement", "Status", "Figures", "Next"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows))) : empty("No control for these frameworks.");
    const cov = r.coverage, ret = r.retention, acc = r.access, smp = r.sample;
    const evidence = el("dl", { class: "fields", id: "evidence" },
      field("Period", timeEl(r.period.start), " – ", timeEl(r.period.end), r.period.label ? " (" + r.period.label + ")" : ""),
      field("Generated", timeEl(r.generated)),
      field("Population", num(r.population.entries, 0) + " entries", r.population.checkpoint ? " · checkpoint of size " + num(r.population.checkpoint.size, 0) + " at " : "", r.population.checkpoint ? timeEl(r.population.checkpoint.time) : ""),
      field("Coverage", num(cov.hours_with_entries, 0) + " hours with entries, " + num(cov.quiet_hours, 0) + " quiet, " + num(cov.silent_hours, 0) + " silent (down), " + num(cov.unknown_hours, 0) + " unknown" + ((cov.gaps || []).length ? "; " + cov.gaps.length + " downtimes" : "")),
      field("Integrity", r.integrity.verified ? (r.integrity.ok ? el("span", { class: "pill ok" }, "OK") : el("span", { class: "pill bad" }, "FAILED")) : el("span", { class: "pill" }, "not verified"),
        " ", r.integrity.summary || r.integrity.error || (r.config.ledger ? "" : "no ledger or no verifier keys: the server needs --verifier keys")),
      field("Retention", (ret.configured_days < 0 ? "forever" : num(ret.configured_days, 0) + " days") + "; oldest entry " + num(ret.oldest_age_days, 0) + " days old; " + num(ret.deleted_by_policy, 0) + " signed deletions, " + num(ret.deleted_other, 0) + " unexplained"),
      field("Safety", num(r.safety.failures, 0) + " failures, block rate " + pct(r.safety.block_rate) + " (previous " + pct(r.safety.previous_block_rate) + ")" + ((r.safety.by_detector || []).length ? "; " + r.safety.by_detector.map((c) => c.name + " " + c.entries).join(", ") : "")),
      field("Attribution", pct(r.attribution.user_share) + " with a user id, " + pct(r.attribution.hash_only_share) + " hashes only"),
      field("Access", acc.read ? num(acc.records, 0) + " accesses by " + (acc.readers || []).length + " token(s), " + num(acc.denied, 0) + " refused" : "the access log was not read" + (acc.error ? ": " + acc.error : "")),
      field("Sample", num((smp.items || []).length, 0) + " entries (seed " + smp.seed + "), " + num(smp.proved, 0) + " with inclusion proofs"),
      field("Reviews", (r.reviews || []).length ? r.reviews.map((v) => v.reviewer + " (" + utc(parseTS(v.time)) + ")").join(", ") : "none attested in the period"));
    show(head, el("div", { class: "actions", id: "downloads" }, el("span", { class: "muted" }, "Download (recorded in the access log):"),
      dl("json", "JSON"), dl("md", "Markdown"), dl("html", "HTML")),
    summary, el("h2", {}, "Controls"), controls, el("h2", {}, "Evidence"), evidence);
  }

  // ---- Keyboard ----
  let gPending = false;
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if (t.matches && t.matches("input, select, textarea")) { if (ev.key === "Escape") t.blur(); return; }
    if (ev.metaKey || ev.ctrlKey || ev.altKey) return;
    const rows = [...main.querySelectorAll("tbody tr[data-href]")];
    const cur = rows.indexOf(document.activeElement);
    if (gPending) {
      gPending = false;
      const to = { e: "/entries", d: "/dashboard", i: "/integrity", r: "/reports", a: "/access" }[ev.key];
      if (to) { location.assign(to); ev.preventDefault(); }
      return;
    }
    if (ev.key === "g") { gPending = true; return; }
    if (ev.key === "/") { const f = main.querySelector("#filters input, #filters select"); if (f) { ev.preventDefault(); f.focus(); } return; }
    if ((ev.key === "j" || ev.key === "k") && rows.length) {
      const next = rows[Math.max(0, Math.min(rows.length - 1, cur < 0 ? 0 : cur + (ev.key === "j" ? 1 : -1)))];
      rows.forEach((r) => r.classList.toggle("sel", r === next)); next.focus(); ev.preventDefault();
    }
    if (ev.key === "Enter" && cur >= 0) { location.assign(rows[cur].dataset.href); ev.preventDefault(); }
  });
  main.addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-href]");
    if (tr && !ev.target.closest("a, button")) location.assign(tr.dataset.href);
  });

  const pages = { entries: entriesPage, entry: entryPage, conversation: conversationPage, dashboard: dashboardPage, integrity: integrityPage, reports: reportsPage, access: accessPage };
  function render() {
    charts.splice(0).forEach((c) => c.destroy());
    const fn = pages[page];
    if (fn) guard(fn).then(() => { window.consoleReady = (window.consoleReady || 0) + 1; body.dataset.ready = String(window.consoleReady); });
  }
  window.addEventListener("popstate", render);
  render();
})();
