// oa-mockserver dashboard: follows the server's feed (SSE, read with fetch so the admin token
// can travel in the Authorization header), or draws a static report's embedded data.
(() => {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const ADMIN = "/__admin/";
  const MAX_ROWS = 1000, MAX_LANES = 12;
  const S = { rows: new Map(), live: new Map(), details: {}, faults: [], chats: [], misses: [],
    cursor: 0, selected: null, token: null, isStatic: false };

  const el = (tag, attrs, ...kids) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
    }
    for (const kid of kids) if (kid != null) node.append(kid);
    return node;
  };
  const NS = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text != null) node.textContent = text;
    return node;
  };
  const ms = (s) => (s == null ? "–" : (s * 1000).toFixed(s > 0 && s < 0.01 ? 2 : 0) + " ms");
  const pretty = (value) => {
    if (value == null || value === "") return "(empty)";
    if (typeof value !== "string") return JSON.stringify(value, null, 2);
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch (e) { return value; }
  };
  const clock = (t) => new Date(t * 1000).toISOString().slice(11, 23);

  // ---- requests ----------------------------------------------------------------------------
  function addRows(rows) {
    for (const row of rows) {
      S.rows.set(row.seq, row);
      S.cursor = Math.max(S.cursor, row.seq);
      if (row.stream) S.live.delete(row.stream.key);
    }
    while (S.rows.size > MAX_ROWS) S.rows.delete(S.rows.keys().next().value);
    schedule();
  }
  function passes(row) {
    const user = $("#f-user").value, step = $("#f-step").value, status = $("#f-status").value;
    if (user && row.user !== user) return false;
    if (step && row.step !== step) return false;
    if (status && !(status.endsWith("xx") ? String(row.status)[0] === status[0]
      : String(row.status) === status)) return false;
    return true;
  }
  function fillSelect(select, values) {
    const have = new Set([...select.options].map((o) => o.value));
    for (const v of [...values].sort()) if (!have.has(v)) select.append(el("option", { value: v, text: v }));
  }
  function renderRequests() {
    const rows = [...S.rows.values()];
    fillSelect($("#f-user"), new Set(rows.map((r) => r.user).filter(Boolean)));
    fillSelect($("#f-step"), new Set(rows.map((r) => r.step).filter(Boolean)));
    const codes = new Set(rows.map((r) => String(r.status)));
    fillSelect($("#f-status"), new Set([...codes, ...[...codes].map((c) => c[0] + "xx")]));
    const body = $("#requests tbody");
    const shown = rows.filter(passes).reverse();
    body.replaceChildren(...shown.map((r) => el("tr", {
      "data-seq": r.seq, class: r.seq === S.selected ? "selected" : "", onclick: () => select(r.seq),
    }, el("td", { text: r.seq }), el("td", { text: clock(r.at) }), el("td", { text: r.method }),
    el("td", { class: "path", text: r.path, title: r.path }),
    el("td", { class: "status s" + String(r.status)[0], text: r.status }),
    el("td", { text: r.step || (r.matched ? "" : "unmatched") }), el("td", { text: (r.duration * 1000).toFixed(1) }),
    el("td", { class: "faults", text: r.faults.join(", ") }),
    el("td", { class: "replay", text: r.replay ? r.replay.outcome : "" }), el("td", { text: r.user || "" }))));
    $("#req-count").textContent = `(${shown.length} of ${rows.length})`;
  }

  async function select(seq) {
    S.selected = seq;
    schedule();
    const row = S.rows.get(seq);
    $("#detail-title").textContent = `#${seq} ${row.method} ${row.path}`;
    let call = S.details[seq];
    if (!call && !S.isStatic) {
      const [res, kept] = await Promise.all([api("GET", `requests?after=${seq - 1}&limit=1`),
        api("GET", `ui/answers/${seq}`)]);
      if (res.ok) call = (await res.json()).requests.find((c) => c.seq === seq);
      if (call && kept.ok) {
        const answer = await kept.json();
        call.response = { headers: { "Content-Type": answer.content_type }, body: answer.body };
      }
    }
    if (S.selected === seq) renderDetail(row, call);
  }
  function kv(pairs) {
    const dl = el("dl", { class: "kv" });
    for (const [k, v] of pairs) if (v != null && v !== "") dl.append(el("dt", { text: k }), el("dd", { text: v }));
    return dl;
  }
  function renderDetail(row, call) {
    const box = $("#detail");
    const parts = [el("h3", { text: "request" })];
    if (call) {
      const q = new URLSearchParams(call.query || {}).toString();
      parts.push(kv([["line", `${call.method} ${call.path}${q ? "?" + q : ""}`],
        ...Object.entries(call.headers || {})]));
      parts.push(el("pre", { class: "body", text: pretty(call.json != null ? call.json : call.body) }));
      if (call.body_truncated) parts.push(el("p", { class: "hint", text: `body cut: ${call.body_size} bytes received` }));
    } else parts.push(el("p", { class: "hint", text: "no longer in the journal" }));
    parts.push(el("h3", { text: "answer" }));
    parts.push(kv([["status", row.status], ["step", row.step], ["duration", ms(row.duration)],
      ["faults fired", row.faults.join(", ")], ["cassette", row.replay && row.replay.outcome],
      ["user", row.user]]));
    if (row.replay && row.replay.outcome === "strict-miss") parts.push(missTable(row.replay));
    if (call && call.response) {
      parts.push(kv(Object.entries(call.response.headers || {})));
      parts.push(el("pre", { class: "answer-body", text: pretty(call.response.body) }));
    }
    if (row.stream) {
      const t = row.stream;
      parts.push(kv([["chunks", t.points.length], ["tokens", t.tokens], ["time to first token", ms(t.ttft)],
        ["largest gap", ms(t.max_gap)], ["final event", t.final ? "written" : "not written"],
        ["client", t.disconnected ? "disconnected early" : "read to the end"]]));
      parts.push(drawTimeline([{ t, label: `#${row.seq}`, seq: row.seq }], "detail-timeline", 600));
    }
    box.replaceChildren(...parts);
  }
  function missTable(miss) {
    const table = el("table", { class: "diff" }, el("tr", {}, el("th", { text: "field" }),
      el("th", { text: "recorded" }), el("th", { text: "actual" })));
    for (const d of miss.differences) table.append(el("tr", {}, el("td", { text: d.field }),
      el("td", { text: JSON.stringify(d.recorded) }), el("td", { text: JSON.stringify(d.actual) })));
    return el("div", { class: "miss" }, el("p", { text: "nearest recording: " + (miss.nearest || "none") }), table);
  }

  // ---- timelines ---------------------------------------------------------------------------
  function lanes() {
    const out = [];
    for (const row of S.rows.values()) if (row.stream) out.push({ t: row.stream, label: `#${row.seq}`, seq: row.seq });
    for (const [key, item] of S.live) out.push({ t: item.timeline, label: "live", key });
    out.sort((a, b) => a.t.origin - b.t.origin);
    return out.slice(-MAX_LANES);
  }
  // One clock for all lanes (a queue or a stall shows as it happened), or each lane from its
  // own start (to compare streams far apart in time).
  function drawTimeline(items, id, W = 1000, align = false) {
    const LEFT = 60, RIGHT = 280, LANE = 26, TOP = 18;
    const root = svg("svg", { id, viewBox: `0 0 ${W} ${TOP + LANE * Math.max(items.length, 1) + 4}`, role: "img" });
    if (!items.length) { root.append(svg("text", { x: 4, y: 14, class: "tick" }, "no event stream yet")); return root; }
    const endOf = (t) => Math.max(t.end || 0, t.points.length ? t.points[t.points.length - 1][0] : 0);
    const start = (t) => (align ? 0 : t.origin);
    const t0 = Math.min(...items.map((i) => start(i.t)));
    const t1 = Math.max(...items.map((i) => start(i.t) + endOf(i.t)));
    const span = Math.max(t1 - t0, 0.001), scale = (W - LEFT - RIGHT) / span;
    const x = (t, offset) => LEFT + (start(t) - t0 + offset) * scale;
    for (let k = 0; k <= 4; k++) {
      const xx = LEFT + (k / 4) * (W - LEFT - RIGHT);
      root.append(svg("line", { x1: xx, x2: xx, y1: TOP - 4, y2: TOP + LANE * items.length, class: "axis" }));
      root.append(svg("text", { x: xx, y: 11, class: "tick", "text-anchor": "middle" }, ms((k / 4) * span)));
    }
    items.forEach((item, n) => {
      const t = item.t, y = TOP + LANE * n + LANE / 2;
      const g = svg("g", { class: "lane" + (item.seq === S.selected ? " selected" : ""), "data-key": t.key,
        "data-seq": item.seq || "", "data-origin": t.origin, "data-ttft": t.ttft == null ? "" : t.ttft });
      g.append(svg("text", { x: 4, y: y + 4, class: "lane-label" }, item.label));
      g.append(svg("line", { x1: x(t, 0), x2: Math.max(x(t, endOf(t)), x(t, 0) + 1), y1: y, y2: y,
        class: "base" + (t.live ? " live" : "") }));
      for (const [start, length] of t.stalls) g.append(svg("rect", { x: x(t, start), y: y - 9,
        width: Math.max(length * scale, 1), height: 18, class: "stall", "data-offset": start, "data-length": length }));
      if (t.ttft != null) g.append(svg("line", { x1: x(t, 0), x2: x(t, t.ttft), y1: y - 10, y2: y - 10, class: "ttft" }));
      for (const [offset, size, kind] of t.points) {
        const px = x(t, offset), common = { "data-offset": offset, "data-size": size, "data-kind": kind };
        let mark;
        if (kind === "token") mark = svg("line", { ...common, x1: px, x2: px, y1: y - 7, y2: y + 7, class: "pt token" });
        else if (kind === "ping") mark = svg("circle", { ...common, cx: px, cy: y + 9, r: 2.5, class: "pt ping" });
        else if (kind === "pending") mark = svg("rect", { ...common, x: px - 3, y: y - 3, width: 6, height: 6, class: "pt pending" });
        else if (kind === "message") mark = svg("path", { ...common, d: `M${px} ${y - 6}l6 6l-6 6l-6 -6z`, class: "pt message" });
        else mark = svg("circle", { ...common, cx: px, cy: y, r: 4, class: "pt " + (kind === "error" || kind === "raw" ? kind : "other") });
        mark.append(svg("title", {}, `${kind} at ${ms(offset)}, ${size} bytes`));
        g.append(mark);
      }
      if (t.disconnected && t.end != null) {
        const px = x(t, t.end);
        g.append(svg("path", { d: `M${px - 5} ${y - 5}l10 10m0 -10l-10 10`, class: "disconnect", "data-offset": t.end }));
      }
      const stats = `ttft ${ms(t.ttft)} · ${t.tokens} tok · gap ≤ ${ms(t.max_gap)}` + (t.stalls.length ? ` · ${t.stalls.length}× stall` : "")
        + (t.live ? " · live" : "");
      g.append(svg("text", { x: W - RIGHT + 8, y: y + 4, class: "lane-stats" }, stats));
      if (item.seq) g.addEventListener("click", () => select(item.seq));
      root.append(g);
    });
    return root;
  }

  // ---- chats, faults, misses, health -------------------------------------------------------
  function renderChats() {
    const byUser = new Map();
    for (const chat of S.chats) {
      if (!byUser.has(chat.user)) byUser.set(chat.user, []);
      byUser.get(chat.user).push(chat);
    }
    const out = [];
    for (const [user, chats] of byUser) {
      out.push(el("h3", { text: `${user} (${chats.length})` }));
      for (const chat of chats) {
        const kids = new Map();
        for (const m of chat.messages) {
          if (!kids.has(m.parent_id)) kids.set(m.parent_id, []);
          kids.get(m.parent_id).push(m);
        }
        const tree = (parent) => el("ul", {}, ...(kids.get(parent) || []).map((m) => el("li", { class: "msg", "data-state": m.state },
          el("span", { class: "role", text: m.role + " " }), el("span", { class: "state " + m.state, text: m.state }),
          " " + (m.content || "").slice(0, 120), kids.has(m.id) ? tree(m.id) : null)));
        out.push(el("div", { class: "chat", "data-chat": chat.id },
          el("div", { text: `${chat.title || "(untitled)"} · ${chat.id.slice(0, 13)}…` }), tree(null)));
      }
    }
    $("#chats").replaceChildren(...(out.length ? out : [el("p", { class: "hint", text: "no chats" })]));
  }
  function renderFaults() {
    $("#faults").replaceChildren(...(S.faults.length ? S.faults.map((f) => el("li", { text: Object.entries(f)
      .filter(([, v]) => v != null).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ") }))
      : [el("li", { class: "hint", text: "no fault active" })]));
  }
  function renderMisses() {
    $("#misses").replaceChildren(...(S.misses.length ? S.misses.slice().reverse().map((m) => el("div", { class: "miss-item", "data-seq": m.seq },
      el("h3", { text: `request #${m.seq}` }), missTable(m))) : [el("p", { class: "hint", text: "none" })]));
  }
  function renderHealth(h) {
    const items = [["up", `${Math.round(h.uptime_s)} s`], ["requests", h.requests], ["dropped", h.dropped],
      ["handler errors", h.handler_errors], ["open streams", h.open_streams], ["chats", h.chats], ["faults", h.faults]];
    $("#health").replaceChildren(...items.map(([k, v]) => el("span", { "data-name": k.replace(" ", "_"), text: `${k}: ${v}` })));
  }

  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      renderRequests();
      $("#timeline").replaceChildren(drawTimeline(lanes(), "timeline-svg", 1000, $("#align").checked));
    });
  }

  // ---- the feed ----------------------------------------------------------------------------
  function api(method, path, body) {
    const headers = {};
    if (S.token) headers.Authorization = "Bearer " + S.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(ADMIN + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }
  const handlers = {
    hello: () => { const c = $("#conn"); c.textContent = "live"; c.className = "badge live"; },
    requests: (d) => addRows(d.rows),
    stream: (d) => { S.live.set(d.timeline.key, d); schedule(); },
    faults: (d) => { S.faults = d; renderFaults(); },
    chats: (d) => { S.chats = d; renderChats(); },
    misses: (d) => { S.misses = d; renderMisses(); },
    health: renderHealth,
  };
  async function follow() {
    const res = await api("GET", `ui/events?after=${S.cursor}`);
    if (res.status === 401) { $("#token-form").hidden = false; throw new Error("token"); }
    if (!res.ok || !res.body) throw new Error(`feed answered ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message", data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (handlers[event] && data.length) handlers[event](JSON.parse(data.join("\n")));
      }
    }
  }
  async function connect() {
    for (;;) {
      try { await follow(); } catch (e) { if (e.message === "token") return; }
      const c = $("#conn"); c.textContent = "reconnecting"; c.className = "badge down";
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  function wire() {
    for (const id of ["#f-user", "#f-step", "#f-status", "#align"]) $(id).addEventListener("change", schedule);
    $("#fault-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const res = await api("POST", "faults", { header: $("#fault-spec").value.trim() });
      const answer = await res.json();
      $("#fault-error").textContent = res.ok ? "" : answer.detail;
      if (res.ok) { S.faults = answer.faults; renderFaults(); $("#fault-spec").value = ""; }
    });
    $("#faults-clear").addEventListener("click", async () => {
      const res = await api("DELETE", "faults");
      if (res.ok) { S.faults = []; renderFaults(); }
    });
    $("#reset").addEventListener("click", async () => {
      const res = await api("POST", "reset", {});
      if (res.ok) { S.rows.clear(); S.live.clear(); S.selected = null; $("#detail").replaceChildren(); schedule(); }
    });
    $("#token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      S.token = $("#token-input").value.trim();
      sessionStorage.setItem("oa-admin-token", S.token);
      $("#token-form").hidden = true;
      connect();
    });
  }

  const embedded = document.getElementById("oa-report");
  wire();
  if (embedded) {
    const data = JSON.parse(embedded.textContent);
    S.isStatic = true;
    document.body.classList.add("static");
    document.title = "oa-mockserver report: " + data.title;
    const c = $("#conn"); c.textContent = "report: " + data.title;
    S.details = data.details || {};
    addRows(data.rows);
  } else {
    const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem("oa-admin-token", decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname);  // the token leaves the address bar
    }
    S.token = sessionStorage.getItem("oa-admin-token");
    renderFaults();
    connect();
  }
})();
