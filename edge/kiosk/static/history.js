// Gate lane kiosk: the History tab (search transactions, open one's timeline). Loaded after kiosk.js,
// whose helpers ($, el, t, api, locale, S) it uses; data reaches the page only through textContent.
"use strict";

async function search(event) {
  if (event) event.preventDefault();
  const form = new FormData($("search-form"));
  const query = new URLSearchParams();
  for (const [key, value] of form.entries()) {
    if (!value) continue;
    query.set(key, key === "since" || key === "until" ? new Date(value).toISOString() : value);
  }
  const result = await api("GET", "/api/v1/transactions?" + query.toString());
  if (!result.ok) return;
  const rows = result.data.map((tx) => {
    const tag = tx.outcome ? el("span", { class: "tag " + tx.outcome }, t("outcome_" + tx.outcome)) : "—";
    const row = el("tr", { tabindex: "0" },
      el("td", {}, new Date(tx.started_at).toLocaleString(locale())),
      el("td", {}, tx.plate || "—"), el("td", {}, tx.containers.join(", ") || "—"),
      el("td", {}, tag), el("td", {}, tx.status === "open" ? t("state_" + tx.state) : t("status_" + tx.status)));
    row.addEventListener("click", () => openTransaction(tx.id));
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") openTransaction(tx.id); });
    return row;
  });
  $("results").tBodies[0].replaceChildren(...rows);
  $("no-results").hidden = rows.length > 0;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString(locale());
}

function stateName(state) {
  return S.t["state_" + state] !== undefined ? t("state_" + state) : state;
}

async function openTransaction(id) {
  const result = await api("GET", "/api/v1/transactions/" + encodeURIComponent(id));
  if (!result.ok) return;
  const tx = result.data;
  const box = $("tx-detail");
  box.hidden = false;
  box.replaceChildren(
    el("h2", {}, tx.plate || "—", " ", tx.outcome ? el("span", { class: "tag " + tx.outcome }, t("outcome_" + tx.outcome)) : ""),
    el("p", {}, `${t("declaration")}: ${tx.declaration_number || t("none")} · ${t("weight")}: ${tx.gross_kg === null ? "—" : Math.round(tx.gross_kg) + " kg"}`),
    el("ul", { class: "reasons" }, ...tx.reasons.map((r) => el("li", {}, S.lang === "vi" ? r.text_vi : r.text_en, el("small", {}, S.lang === "vi" ? r.detail_vi : r.detail)))),
    el("h3", {}, t("exits")),
    exitList(tx),
    el("h3", {}, t("timeline")),
    el("ol", {}, ...tx.transitions.map((s) => el("li", {}, `${clock(s.at)} ${stateName(s.from_state)} → ${stateName(s.to_state)}: ${s.cause}`))),
    el("h3", {}, t("audit")),
    el("ol", {}, ...tx.audit.map((a) => el("li", {}, `${clock(a.at)} ${a.actor} · ${t(a.action)}: ${a.reason || ""}`))),
  );
}

// Exits the lane saw, then those it could not (controller link down), each marked: an officer confirms them.
function exitList(tx) {
  const pair = ([declaration, container]) => (container ? `${declaration} · ${container}` : declaration);
  const items = [
    ...tx.exits.map((exit) => el("li", {}, pair(exit))),
    ...tx.unconfirmed_exits.map((exit) => el("li", { class: "unconfirmed" }, pair(exit), " ",
      el("span", { class: "tag HOLD" }, t("exit_unconfirmed")), el("small", {}, t("exit_unconfirmed_note")))),
  ];
  return items.length ? el("ul", { class: "exits" }, ...items) : el("p", {}, t("none"));
}
