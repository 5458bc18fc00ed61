// The cleared declarations closest to a held vehicle's reads (the server ranks them; only an officer who
// may correct sees them). A tap fills the correction with that declaration's plate and containers and its
// reason, so the officer confirms instead of typing.
"use strict";

const CLOSEST = { key: null, found: null, drawn: null };

function renderClosest(view) {
  const panel = $("closest");
  const role = S.session && S.session.role;
  const vehicle = view.vehicle;
  const show = (role === "officer" || role === "supervisor") && view.held && !!vehicle;
  panel.hidden = !show;
  if (!show) {
    CLOSEST.key = CLOSEST.found = CLOSEST.drawn = null;
    return;
  }
  // Asked again when the reads change (a correction of the plate leaves the containers to match).
  const key = JSON.stringify([vehicle.tx_id, vehicle.plate && vehicle.plate.text, vehicle.containers.map((c) => c.text)]);
  if (key !== CLOSEST.key) {
    CLOSEST.key = key;
    CLOSEST.found = null;
    fetchClosest(key, vehicle.tx_id);
  }
  drawClosest();
}

async function fetchClosest(key, txId) {
  const result = await api("GET", `/api/v1/lane/closest?tx_id=${encodeURIComponent(txId)}`);
  if (CLOSEST.key !== key) return; // the vehicle or its reads changed meanwhile
  CLOSEST.found = result.ok ? result.data.declarations : [];
  drawClosest();
}

// The declared text with the characters that differ from the read marked.
function markedText(close) {
  const node = el("span", { class: "close-text" });
  [...close.text].forEach((ch, i) => node.append(close.differs.includes(i) ? el("mark", {}, ch) : ch));
  return node;
}

function drawClosest() {
  const drawnKey = JSON.stringify([S.lang, CLOSEST.key, CLOSEST.found]);
  if (CLOSEST.drawn === drawnKey) return;
  CLOSEST.drawn = drawnKey;
  const list = $("closest-list");
  if (CLOSEST.found === null) {
    list.replaceChildren();
    return;
  }
  if (!CLOSEST.found.length) {
    list.replaceChildren(el("p", { class: "muted" }, t("no_close_declaration")));
    return;
  }
  list.replaceChildren(
    ...CLOSEST.found.map((found) => {
      const differ = found.distance ? el("small", {}, t("differ").replace("{n}", found.distance)) : null;
      const button = el(
        "button",
        { type: "button", class: "close-decl" },
        el("span", { class: "close-plate" }, markedText(found.plate)),
        ...found.containers.map((c) => el("span", { class: "close-box" }, markedText(c))),
        differ,
      );
      button.addEventListener("click", () => correctTo(found));
      return button;
    }),
  );
}

function correctTo(found) {
  openDialog("correct");
  $("new-plate").value = found.plate.text;
  $("new-containers").value = found.containers.map((c) => c.text).join(", ");
  const reason = t("closest_reason");
  S.dialog.reason = reason;
  const chosen = el("button", { type: "button", "aria-pressed": "true" }, reason);
  chosen.addEventListener("click", () => {
    S.dialog.reason = reason;
    for (const b of $("presets").children) b.setAttribute("aria-pressed", String(b === chosen));
  });
  for (const b of $("presets").children) b.setAttribute("aria-pressed", "false");
  $("presets").prepend(chosen);
  $("dialog-confirm").focus();
}
