// Gate lane kiosk: the History tab (search transactions, open one's timeline). Loaded after kiosk.js,
// whose helpers ($, el, t, api, locale, S) it uses; data reaches the page only through textContent.
"use strict";

document.head.append(el("link", { rel: "stylesheet", href: "/static/history.css" }));

// How it ended, coloured as the decision tags are: green crossed, red turned back, amber not known.
const ENDING_TONE = {
  passed: "PASS", passed_by_officer: "PASS", opened_by_hand: "PASS",
  rejected: "REJECT", turned_back: "REJECT", aborted: "REJECT",
};

function endingTag(tx) {
  return el("span", { class: "tag ending " + (ENDING_TONE[tx.ending] || "HOLD") }, t("ending_" + tx.ending));
}

function decider(tx) {
  return tx.decided_by === "officer" ? tx.officer : t("decided_" + tx.decided_by);
}

function kilograms(kg) {
  return kg === null ? "—" : `${Math.round(kg).toLocaleString(locale())} kg`;
}

// The plate as it stands, and the camera's read struck through beside it when an officer corrected it.
function plateCell(tx) {
  const cell = el("td", {}, tx.plate || "—");
  if (tx.camera_plate) cell.append(" ", el("s", { class: "camera-read", title: t("camera_read") }, tx.camera_plate));
  return cell;
}

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
    const row = el("tr", { tabindex: "0", "data-tx": tx.id },
      el("td", {}, new Date(tx.started_at).toLocaleString(locale())),
      plateCell(tx), el("td", {}, tx.containers.join(", ") || "—"),
      el("td", {}, tag), el("td", { class: "ending-cell" }, endingTag(tx), el("small", { class: "decider" }, decider(tx))));
    row.addEventListener("click", () => openTransaction(tx.id));
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") openTransaction(tx.id); });
    return row;
  });
  $("results").tBodies[0].replaceChildren(...rows);
  $("no-results").hidden = rows.length > 0;
  // Called again on a language switch or a return to the tab: the open transaction follows, in its words.
  const open = $("tx-detail");
  if (!event && !open.hidden && open.dataset.tx) openTransaction(open.dataset.tx);
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
  box.dataset.tx = tx.id;
  box.replaceChildren(
    el("h2", {}, tx.plate || "—", " ", endingTag(tx)),
    el("p", { class: "decided" }, `${t("decided_by")}: `, el("strong", {}, decider(tx)),
      tx.outcome ? ` · ${t("decision")}: ${t("outcome_" + tx.outcome)}` : ""),
    el("p", {}, `${t("declaration")}: ${tx.declaration_number || t("none")} · ${t("weight")}: `,
      el("span", { class: "weight" }, kilograms(tx.gross_kg))),
    el("ul", { class: "reasons" }, ...tx.reasons.map((r) => el("li", {}, S.lang === "vi" ? r.text_vi : r.text_en, el("small", {}, S.lang === "vi" ? r.detail_vi : r.detail)))),
    ...correctionList(tx),
    ...evidenceStrip(tx),
    el("h3", {}, t("exits")),
    exitList(tx),
    el("h3", {}, t("timeline")),
    el("ol", { class: "timeline" }, ...tx.transitions.map((s) =>
      el("li", {}, `${clock(s.at)} ${stateName(s.from_state)} → ${stateName(s.to_state)}: ${S.lang === "vi" ? s.cause_vi : s.cause_en}`))),
    el("h3", {}, t("audit")),
    el("ol", {}, ...tx.audit.map((a) => el("li", {}, `${clock(a.at)} ${a.actor} · ${t(a.action)}: ${a.reason || ""}`))),
  );
}

// Each correction: what the camera read (struck through) beside what the officer set, who and why.
function correctionList(tx) {
  if (!tx.corrections.length) return [];
  const items = [];
  for (const c of tx.corrections) {
    const said = `${clock(c.at)} ${c.officer}: ${c.reason || ""}`;
    if (c.plate_before !== c.plate_after) {
      items.push(el("li", {}, `${t("plate")}: `, el("s", { class: "camera-read" }, c.plate_before || "—"),
        ` → ${c.plate_after || "—"}`, el("small", {}, said)));
    }
    if (c.containers_before.join(",") !== c.containers_after.join(",")) {
      items.push(el("li", {}, `${t("containers")}: `, el("s", { class: "camera-read" }, c.containers_before.join(", ") || "—"),
        ` → ${c.containers_after.join(", ") || "—"}`, el("small", {}, said)));
    }
  }
  return items.length ? [el("h3", {}, t("corrections")), el("ul", { class: "corrections" }, ...items)] : [];
}

// The passage's evidence frames as thumbnails; a tap opens the full frame.
function evidenceStrip(tx) {
  if (!tx.evidence.length) return [];
  const thumbs = tx.evidence.map((image) => {
    const button = el("button", { type: "button", class: "thumb", title: t("open_frame") },
      el("img", { src: image.url, alt: `${t("evidence")} ${image.text}`, loading: "lazy" }),
      el("span", {}, image.text));
    button.addEventListener("click", () => showFrame(image));
    return button;
  });
  return [el("h3", {}, t("evidence")), el("div", { class: "history-evidence" }, ...thumbs)];
}

function showFrame(image) {
  let viewer = $("history-frame");
  if (!viewer) {
    viewer = el("dialog", { id: "history-frame", class: "history-frame" });
    viewer.addEventListener("click", () => viewer.close()); // anywhere closes it, the button says so
    document.body.append(viewer);
  }
  viewer.replaceChildren(
    el("img", { src: image.url, alt: `${t("evidence")} ${image.text}` }),
    el("p", {}, image.text, " ", el("button", { type: "button", class: "ghost big" }, t("close"))),
  );
  viewer.showModal();
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
