"use strict";
// The central office's screen: gates and lanes (live through server-sent events), search, one passage.
(() => {
  const $ = (id) => document.getElementById(id);
  let lang = localStorage.getItem("central-lang") || "vi";
  let csrf = null;
  let live = null;
  let refreshing = null;

  const t = (key, vars = {}) => {
    const pair = window.WORDS[key];
    let s = pair ? pair[lang === "vi" ? 0 : 1] : key;
    for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, v);
    return s;
  };
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  const when = (iso) => (iso ? new Date(iso).toLocaleString(lang === "vi" ? "vi-VN" : "en-GB") : t("none"));

  function translate() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  }

  async function api(path, options = {}) {
    const headers = { ...(options.headers || {}) };
    if (options.body) headers["Content-Type"] = "application/json";
    if (options.method === "POST" && csrf) headers["X-CSRF-Token"] = csrf;
    const response = await fetch(path, { ...options, headers, credentials: "same-origin" });
    if (response.status === 401 && !path.endsWith("/login")) { showLogin(); throw new Error("401"); }
    return response;
  }

  async function failure(response) {
    if (response.status === 503) return t("db_down");
    const body = await response.json().catch(() => ({}));
    return t("bad_input", { d: body.detail || response.status });
  }

  function showLogin() {
    csrf = null;
    if (live) { live.close(); live = null; }
    for (const id of ["view-gates", "view-search", "view-passage", "tabs", "who", "logout", "link"]) $(id).hidden = true;
    $("login").hidden = false;
    document.body.dataset.ready = "1";
  }

  function loggedIn(info) {
    csrf = info.csrf_token;
    $("login").hidden = true;
    for (const id of ["tabs", "who", "logout"]) $(id).hidden = false;
    $("who").textContent = `${info.user} (${info.role})`;
    startLive();
    route();
  }

  // -- gates ------------------------------------------------------------------------------------
  function fact(box, label, value, bad = false) {
    box.append(el("span", "muted", label), el("span", bad ? "bad" : "", value));
  }

  function gateCard(gate) {
    const card = el("div", "card gate");
    card.dataset.gate = gate.gate_id;
    const head = el("div", "gate-head");
    head.append(el("h2", "", gate.gate_id));
    const state = el("span", `state ${gate.state}`, t(gate.state in window.WORDS ? gate.state : "unknown"));
    state.dataset.state = gate.state;
    head.append(state, el("span", "muted", `${t("since_word")} ${when(gate.state_at)}`));
    card.append(head);
    const facts = el("div", "facts");
    const last = gate.last_event;
    fact(facts, t("last_event"), last ? `${last.kind} · ${when(last.at)}` : t("none"));
    fact(facts, t("events_stored"), gate.events);
    fact(facts, t("outbox"), gate.outbox_depth ?? "–", (gate.outbox_depth || 0) > 0);
    const oldest = gate.outbox_oldest_age_s;
    fact(facts, t("oldest"), oldest == null ? "–" : t("seconds", { n: Math.round(oldest) }), oldest != null);
    card.append(facts);
    const gaps = el("div", gate.gaps.length ? "gaps" : "muted",
      gate.gaps.length ? t("gaps", { list: gate.gaps.join(", ") }) : t("no_gaps"));
    gaps.dataset.role = "gaps";
    card.append(gaps);
    if (gate.telemetry_not_received) {
      const tele = el("div", "muted", t("telemetry_gaps", { n: gate.telemetry_not_received }));
      tele.dataset.role = "telemetry-gaps";
      card.append(tele);
    }
    for (const code of gate.alarms) card.append(el("div", "alarm", `${t("alarm")}: ${code}`));
    if (!gate.lanes.length) { card.append(el("p", "muted", t("no_lanes"))); return card; }
    const table = el("table", "table");
    const head2 = el("tr");
    for (const k of ["col_lane", "col_vph", "col_no_officer", "col_held", "col_rejected"]) head2.append(el("th", "", t(k)));
    table.append(head2);
    for (const lane of gate.lanes) {
      const row = el("tr");
      row.dataset.lane = lane.lane_id;
      const share = lane.passed_no_officer_share;
      row.append(el("td", "", lane.lane_id), el("td", "", lane.vehicles_per_hour),
        el("td", "", share == null ? "–" : `${Math.round(share * 100)} %`),
        el("td", "", lane.held), el("td", "", lane.rejected));
      table.append(row);
      for (const [code, detail] of lane.alarms) {
        const alarm = el("tr");
        const cell = el("td", "alarm", `${t("alarm")} ${lane.lane_id}: ${code} ${detail}`);
        cell.colSpan = 5;
        alarm.append(cell);
        table.append(alarm);
      }
    }
    card.append(table);
    return card;
  }

  async function showGates() {
    const response = await api("/api/v1/gates");
    if (!response.ok) { $("gates").replaceChildren(el("p", "error", await failure(response))); return; }
    const gates = await response.json();
    $("gates").replaceChildren(...(gates.length ? gates.map(gateCard) : [el("p", "muted", t("no_gates"))]));
    document.body.dataset.ready = "1";
    document.body.dataset.gates = String(gates.length);
  }

  function refreshSoon() {
    if (refreshing || $("view-gates").hidden) return;
    refreshing = setTimeout(() => { refreshing = null; showGates().catch(() => {}); }, 300);
  }

  function linkState(key) {
    const link = $("link");
    link.hidden = false;
    link.className = key === "live" ? "link-state" : "link-state off";
    link.dataset.i18n = key;  // translated again when the language changes
    link.textContent = t(key);
  }

  function startLive() {
    if (live) return;
    live = new EventSource("/api/v1/live");
    live.addEventListener("hello", () => { linkState("live"); });
    live.addEventListener("events", (e) => {
      for (const ev of JSON.parse(e.data)) {
        const item = el("li", "", `${when(ev.at)} · ${ev.gate_id}${ev.lane_id ? " / " + ev.lane_id : ""} · #${ev.seq} ${ev.kind}`);
        $("feed").prepend(item);
      }
      while ($("feed").children.length > 100) $("feed").lastChild.remove();
      refreshSoon();
    });
    live.addEventListener("presence", refreshSoon);
    live.onerror = () => { linkState("live_off"); };
  }

  // -- search and passage ---------------------------------------------------------------------------
  function utc(local) { return local ? new Date(local).toISOString() : ""; }

  async function runSearch(event) {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const k of ["plate", "container", "declaration"]) { const v = $(`q-${k}`).value.trim(); if (v) params.set(k, v); }
    for (const k of ["since", "until"]) { const v = utc($(`q-${k}`).value); if (v) params.set(k, v); }
    $("search-error").textContent = "";
    const response = await api(`/api/v1/search?${params}`);
    if (!response.ok) { $("search-error").textContent = await failure(response); return; }
    const rows = await response.json();
    $("results").hidden = !rows.length;
    $("no-results").hidden = !!rows.length;
    $("results-body").replaceChildren(...rows.map((r) => {
      const row = el("tr");
      const link = el("a", "", when(r.at));
      link.href = `#/passage/${encodeURIComponent(r.gate_id)}/${encodeURIComponent(r.tx_id)}`;
      const first = el("td"); first.append(link);
      row.append(first, el("td", "", `${r.gate_id} / ${r.lane_id}`), el("td", "mono", r.plate),
        el("td", "mono", r.containers.join(", ")), el("td", "mono", r.declaration_number || "–"),
        el("td", `outcome ${r.outcome}`, t(r.outcome)));
      return row;
    }));
    document.body.dataset.results = String(rows.length);
  }

  async function showPassage(gate, tx) {
    const box = $("passage");
    box.replaceChildren();
    const response = await api(`/api/v1/passages/${encodeURIComponent(gate)}/${encodeURIComponent(tx)}`);
    if (!response.ok) {
      box.append(el("p", "error", response.status === 404 ? t("not_found") : await failure(response)));
      document.body.dataset.passage = "missing";
      return;
    }
    const p = await response.json();
    const main = el("div", "card");
    main.append(el("h2", "", t("passage", { tx: p.tx_id })), el("p", "muted", `${p.gate_id} / ${p.lane_id || "–"}`));
    main.append(el("div", `outcome ${p.outcome}`, t(p.outcome || "none")));
    const facts = el("div", "facts");
    fact(facts, t("result"), p.result ? t(`result_${p.result}`) : "–");
    fact(facts, t("declaration"), p.declaration_number || "–");
    fact(facts, t("weight"), p.weight_kg == null ? "–" : `${p.weight_kg} kg`);
    main.append(facts, el("div", "label", t("reasons")));
    const reasons = el("ul", "reasons");
    for (const [code, detail] of p.reasons) { const li = el("li", "", code); li.append(el("small", "", detail)); reasons.append(li); }
    main.append(reasons, el("div", "label", t("reads")));
    for (const read of p.reads) {
      const line = el("p");
      line.append(el("span", "plate", read.text), el("span", "muted", ` ${t("confidence")} ${read.confidence ?? "–"}`));
      main.append(line);
    }
    const side = el("div", "card");
    side.append(el("div", "label", t("officer_actions")));
    if (!p.officer_actions.length) side.append(el("p", "muted", t("no_officer")));
    for (const a of p.officer_actions) side.append(el("p", "", `${when(a.at)} · ${a.officer}: ${a.action} — ${a.reason || ""}`));
    // Central holds the images' hashes; the button asks the gate for the JPEGs it still holds.
    side.append(el("div", "label", t("evidence")));
    const evidence = el("div");
    evidence.dataset.role = "evidence";
    if (!p.evidence.length) evidence.append(el("p", "muted", t("no_evidence")));
    else {
      evidence.append(el("p", "muted", t("evidence_held")));
      for (const e of p.evidence) evidence.append(el("p", "mono", `${e.text}: sha256 ${e.sha256}`));
    }
    const fetchButton = el("button", "", t("evidence_fetch"));
    fetchButton.dataset.role = "evidence-fetch";
    const fetched = el("div");
    fetched.dataset.role = "evidence-images";
    fetchButton.addEventListener("click", () => fetchEvidence(p, fetchButton, fetched).catch(() => {}));
    evidence.append(fetchButton, fetched);
    side.append(evidence, el("div", "label", t("timeline")));
    const list = el("ol", "feed");
    for (const e of p.events) list.append(el("li", "", `#${e.seq} ${e.kind} · ${when(e.at)}`));
    side.append(list);
    box.append(main, side);
    document.body.dataset.passage = p.tx_id;
  }

  async function fetchEvidence(p, button, box) {
    button.disabled = true;
    box.replaceChildren(el("p", "muted", t("evidence_fetching")));
    try {
      const path = `/api/v1/passages/${encodeURIComponent(p.gate_id)}/${encodeURIComponent(p.tx_id)}/evidence`;
      const response = await api(path, { method: "POST" });
      const body = await response.json().catch(() => ({}));
      box.replaceChildren();
      if (!response.ok) {  // offline, no answer, busy: the server's words, and try again later
        box.append(el("p", "error", body[lang] || body.detail || response.status));
        box.dataset.state = "failed";
        return;
      }
      if (body.status !== "accepted") box.append(el("p", "error", `${body[lang] || ""} ${body.detail || ""}`));
      if (body.transaction_known === false) box.append(el("p", "muted", t("evidence_tx_unknown")));
      for (const image of body.images || []) {
        const figure = el("figure");
        figure.dataset.state = image.state;
        if (image.url) {
          const img = el("img");
          img.src = image.url;
          img.alt = image.sha256;
          img.style.maxWidth = "100%";
          figure.append(img);
        }
        figure.append(el("figcaption", "muted", `${t(`evidence_state_${image.state}`)} · ${image.sha256.slice(0, 12)}…`));
        box.append(figure);
      }
      box.dataset.state = "done";
    } finally {
      button.disabled = false;
    }
  }

  // -- navigation --------------------------------------------------------------------------------
  function route() {
    if (!csrf) return;
    const hash = location.hash || "#/gates";
    const parts = hash.slice(2).split("/").map(decodeURIComponent);
    const view = parts[0] === "passage" ? "passage" : parts[0] === "search" ? "search" : "gates";
    for (const v of ["gates", "search", "passage"]) $(`view-${v}`).hidden = v !== view;
    document.querySelectorAll(".tab").forEach((b) => b.classList.toggle("active", b.dataset.tab === view));
    if (view === "gates") showGates().catch(() => {});
    if (view === "passage") showPassage(parts[1] || "", parts[2] || "").catch(() => {});
    if (view === "search") document.body.dataset.ready = "1";
  }

  async function login(event) {
    event.preventDefault();
    $("login-error").textContent = "";
    const response = await api("/api/v1/login", {
      method: "POST",
      body: JSON.stringify({ name: $("login-name").value, password: $("login-password").value }),
    });
    if (response.ok) { $("login-password").value = ""; loggedIn(await response.json()); return; }
    if (response.status === 429) {
      $("login-error").textContent = t("wait_login", { s: response.headers.get("Retry-After") || "?" });
    } else {
      $("login-error").textContent = response.status === 401 ? t("wrong_login") : await failure(response);
    }
  }

  async function logout() {
    await api("/api/v1/logout", { method: "POST" }).catch(() => {});
    showLogin();
  }

  document.addEventListener("DOMContentLoaded", async () => {
    translate();
    $("lang").addEventListener("click", () => { lang = lang === "vi" ? "en" : "vi"; localStorage.setItem("central-lang", lang); translate(); route(); });
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("search-form").addEventListener("submit", runSearch);
    document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => { location.hash = `#/${b.dataset.tab}`; }));
    window.addEventListener("hashchange", route);
    const response = await fetch("/api/v1/session", { credentials: "same-origin" });
    if (response.ok) loggedIn(await response.json()); else showLogin();
  });
})();
