// Gate lane kiosk. No framework, no CDN: the daemon serves this file. Data reaches the page only through
// textContent (never innerHTML), so a plate or a reason typed by anyone cannot inject markup.
"use strict";

const S = {
  lang: localStorage.getItem("kiosk.lang") === "en" ? "en" : "vi",
  t: {},
  session: null,
  view: null,
  events: null,
  tab: "live",
  dialog: null,
  toast: null, // the words of the toast that shows now (a function: they follow a language switch)
};

const $ = (id) => document.getElementById(id);
const t = (key) => (S.t[key] !== undefined ? S.t[key] : key);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// --- words ------------------------------------------------------------------------------------
async function loadLanguage(lang) {
  const response = await fetch(`/api/v1/i18n/${lang}`);
  S.t = await response.json();
  S.lang = lang;
  localStorage.setItem("kiosk.lang", lang);
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  if (S.linkUp !== undefined) setLink(S.linkUp);
  if (S.toast) $("toast").textContent = S.toast();
  render();
  if (S.tab === "history" && $("results").tBodies[0].rows.length) search();
}

// --- API --------------------------------------------------------------------------------------
async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && S.session) headers["X-CSRF-Token"] = S.session.csrf_token;
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch (_) {
    data = null;
  }
  if (response.status === 401 && path !== "/api/v1/login") {
    showLogin(t("session_expired"));
  }
  return { ok: response.ok, status: response.status, data, retryAfter: response.headers.get("Retry-After") };
}

// A refusal in the screen's language: the server's `words` where it knows the sentence (its English
// `detail` stays the record), and a 422 as "Invalid input" naming each field and what was wrong with it.
function detailText(data) {
  if (!data || data.detail === undefined) return "";
  if (data.words && data.words[S.lang]) return data.words[S.lang];
  if (typeof data.detail === "string") return data.detail;
  const fields = data.detail.map((d) => `${(d.loc || []).slice(1).join(".") || "body"} (${d.msg})`);
  return `${t("refusal_invalid_input")}: ${fields.join("; ")}`;
}

// --- session ----------------------------------------------------------------------------------
// `first`: the check at page load, which may answer after the officer began typing: their input stays and
// the cursor stays where they put it.
function showLogin(message, first = false) {
  S.session = null;
  if (S.events) S.events.close();
  S.events = null;
  $("login").hidden = false;
  for (const id of ["live", "history", "health", "tabs", "who", "logout", "link"]) $(id).hidden = true;
  $("login-error").textContent = message || "";
  if (!first) $("login-password").value = "";
  if (!first || document.activeElement === document.body) $("login-name").focus();
}

function showApp(session) {
  S.session = session;
  $("login").hidden = true;
  $("tabs").hidden = false;
  $("who").hidden = false;
  $("logout").hidden = false;
  $("link").hidden = false;
  selectTab(S.tab);
  connect();
}

async function login(event) {
  event.preventDefault();
  const name = $("login-name").value.trim();
  const password = $("login-password").value;
  const result = await api("POST", "/api/v1/login", { name, password });
  if (result.ok) {
    showApp(result.data);
    return;
  }
  $("login-error").textContent = loginError(result);
  $("login-password").value = "";
}

// 429: failed logins not yet waited out (nothing locks an account); Retry-After says how long, in seconds.
function loginError(result) {
  if (result.status !== 429) return t("login_failed");
  const seconds = /^\d+$/.test(result.retryAfter || "") ? result.retryAfter : "?";
  return t("login_throttled").replace("{seconds}", seconds);
}

async function logout() {
  await api("POST", "/api/v1/logout", {});
  showLogin("");
}

// --- live view --------------------------------------------------------------------------------
function connect() {
  if (S.events) S.events.close();
  const source = new EventSource("/api/v1/events");
  S.events = source;
  source.addEventListener("lane", (event) => {
    S.view = JSON.parse(event.data);
    setLink(true);
    render();
  });
  source.addEventListener("expired", () => showLogin(t("session_expired")));
  source.onerror = async () => {
    setLink(false);
    if (source.readyState === EventSource.CLOSED && S.session) {
      const check = await api("GET", "/api/v1/session");
      if (check.ok) setTimeout(connect, 1000);
    }
  };
}

function setLink(up) {
  S.linkUp = up;
  const node = $("link");
  node.textContent = up ? t("connected") : t("disconnected");
  node.classList.toggle("off", !up);
}

function locale() {
  return S.lang === "vi" ? "vi-VN" : "en-GB";
}

function pct(confidence) {
  return `${Math.round(confidence * 100)}%`;
}

function readMeta(read) {
  const valid = el("span", { class: "badge " + (read.valid ? "ok" : "bad") }, read.valid ? t("valid") : t("invalid"));
  return el("span", { class: "read-meta" }, `${t("confidence")} ${pct(read.confidence)}`, valid);
}

function render() {
  if (S.session) $("who").textContent = `${S.session.user} · ${t("role_" + S.session.role)}`;
  const view = S.view;
  if (!view || !S.session) return;
  $("lane-name").textContent = `${view.gate_id} / ${view.lane_id}`;
  renderLane(view);
  renderAlarms(view);
  renderVehicle(view);
  renderEvidence(view);
  renderActions(view);
  renderClosest(view);
  renderHealth(view);
}

// A rejected vehicle (by an officer, or by the decision until a supervisor overrules it) turns back: the
// lane is not "held" for it.
function laneStateWords(view) {
  const vehicle = view.vehicle;
  const rejected = vehicle && !vehicle.approved_by && (vehicle.rejected_by || vehicle.outcome === "REJECT");
  return view.state === "HOLD" && rejected ? t("state_REJECTED") : t("state_" + view.state);
}

function renderLane(view) {
  $("lane-state").textContent = laneStateWords(view);
  // A store that cannot keep the lane's records is an alarm too: shown until it is cleared.
  const faults = [];
  if (view.fault) faults.push(faultWords(view.fault_kind, view.fault, false));
  if (!view.storage.ok) faults.push(el("span", {}, `${t("store")}: `, faultWords(view.storage.kind, view.storage.detail, false)));
  $("lane-fault").hidden = !faults.length;
  $("lane-fault").replaceChildren(...faults);
  const light = $("light");
  light.className = "lamp " + view.light;
  light.querySelector(".word").textContent = t("light_" + view.light);
  const barrier = $("barrier");
  barrier.className = "barrier-state " + view.barrier.position;
  barrier.querySelector(".word").textContent = t("barrier_" + view.barrier.position);
  for (const name of ["entry_loop", "photocell", "exit_loop"]) {
    const det = $("det-" + name);
    det.classList.toggle("on", view.detectors[name]);
    det.querySelector(".det-word").textContent = view.detectors[name] ? t("occupied") : t("clear");
  }
  const mini = $("mini-health");
  mini.replaceChildren(
    healthLine(t("io_controller"), view.modbus.up, view.modbus.kind, view.modbus.detail),
    healthLine(t("scale"), view.scale.ok, view.scale.kind, view.scale.detail),
    healthLine(t("store"), view.storage.ok, view.storage.kind, view.storage.detail),
    ...view.cameras.map((c) => healthLine(c.id, c.state === "OK", c.fault_kind, c.fault)),
    el("div", {}, `${t("outbox_depth")}: ${view.sync.outbox_depth}`),
  );
}

function renderVehicle(view) {
  const vehicle = view.vehicle;
  const banner = $("decision-banner");
  $("no-vehicle").hidden = !!vehicle;
  $("vehicle-body").hidden = !vehicle;
  const outcome = vehicle && vehicle.outcome;
  // An officer's decision overrides the automatic one on the banner; the reasons below still say why.
  const shown = vehicle && vehicle.approved_by ? "PASS" : vehicle && vehicle.rejected_by ? "REJECT" : outcome;
  banner.className = "banner " + (shown || "none");
  banner.querySelector(".banner-word").textContent = shown ? t("outcome_" + shown) : t("outcome_none");
  let sub = vehicle ? t("state_" + view.state) : t("no_vehicle");
  if (view.held) sub = t("officer_needed");
  if (vehicle && vehicle.approved_by) sub = `${t("approved_by")} ${vehicle.approved_by} · ${t("state_" + view.state)}`;
  if (vehicle && vehicle.rejected_by) sub = `${t("rejected_by")} ${vehicle.rejected_by} · ${t("must_back_out")}`;
  banner.querySelector(".banner-sub").textContent = sub;
  $("vehicle").classList.toggle("held", view.held);
  if (!vehicle) return;

  $("plate").textContent = vehicle.plate ? vehicle.plate.text : "—";
  $("plate-meta").replaceChildren(vehicle.plate ? readMeta(vehicle.plate) : "");
  const cameraPlate = $("camera-plate");
  cameraPlate.hidden = !vehicle.camera_plate;
  if (vehicle.camera_plate) {
    cameraPlate.replaceChildren(`${t("camera_read")}: `, el("s", {}, vehicle.camera_plate.text), ` (${pct(vehicle.camera_plate.confidence)}) → ${t("corrected_by")}`);
  }
  $("containers").replaceChildren(
    ...(vehicle.containers.length
      ? vehicle.containers.map((c) => el("li", {}, c.text, readMeta(c)))
      : [el("li", { class: "muted" }, t("none"))]),
  );
  const cameraBoxes = $("camera-containers");
  cameraBoxes.hidden = !vehicle.camera_containers;
  if (vehicle.camera_containers) {
    cameraBoxes.replaceChildren(`${t("camera_read")}: `, el("s", {}, vehicle.camera_containers.map((c) => c.text).join(", ") || "—"));
  }
  $("weight").textContent = vehicle.weight_kg === null ? t("no_weight") : `${Math.round(vehicle.weight_kg).toLocaleString(locale())} kg`;
  $("declaration").textContent = vehicle.declaration_number || t("none");
  const reasons = $("reasons");
  if (vehicle.reasons.length) {
    reasons.replaceChildren(
      ...vehicle.reasons.map((r) =>
        el("li", { class: outcome === "REJECT" ? "REJECT" : "" }, S.lang === "vi" ? r.text_vi : r.text_en, el("small", {}, S.lang === "vi" ? r.detail_vi : r.detail)),
      ),
    );
  } else {
    reasons.replaceChildren(el("li", { class: "ok" }, outcome === "PASS" ? t("every_rule_holds") : "—"));
  }
  const note = $("officer-note");
  const by = vehicle.rejected_by ? `${t("rejected_by")} ${vehicle.rejected_by}` : vehicle.approved_by ? `${t("approved_by")} ${vehicle.approved_by}` : "";
  note.hidden = !by;
  note.textContent = by ? `${by}: ${vehicle.officer_reason || ""}` : "";
}

function renderActions(view) {
  const role = S.session.role;
  const acting = role === "officer" || role === "supervisor";
  const held = view.held && view.vehicle;
  $("actions").hidden = !(held && acting);
  $("view-only").hidden = !(held && !acting);
  if (held && acting) {
    const needsSupervisor = view.vehicle.outcome === "REJECT" && role !== "supervisor";
    $("approve").disabled = !view.actions.approve || needsSupervisor;
    $("reject").disabled = !view.actions.reject;
    $("correct").disabled = !view.actions.correct;
    $("inspection").hidden = !view.actions.inspection_done;
  }
  $("manual-open").hidden = role !== "supervisor";
  $("manual-open").disabled = !view.actions.manual_open;
  if (S.dialog && S.dialog.txId && (!view.vehicle || view.vehicle.tx_id !== S.dialog.txId || !view.held)) {
    closeDialog(); // the vehicle the officer was deciding about is no longer held
  }
}

// --- officer actions --------------------------------------------------------------------------
const ENDPOINT = {
  approve: "/api/v1/lane/approve",
  reject: "/api/v1/lane/reject",
  correct: "/api/v1/lane/correct",
  inspection_done: "/api/v1/lane/inspection-done",
  manual_open: "/api/v1/lane/open",
};

function openDialog(action) {
  const vehicle = S.view && S.view.vehicle;
  S.dialog = { action, txId: action === "manual_open" ? null : vehicle && vehicle.tx_id, reason: "" };
  $("dialog-title").textContent = t(action);
  $("dialog-error").textContent = "";
  $("dialog-error").title = "";
  $("reason-text").value = "";
  $("correct-fields").hidden = action !== "correct";
  if (action === "correct" && vehicle) {
    $("new-plate").value = vehicle.plate ? vehicle.plate.text : "";
    $("new-containers").value = vehicle.containers.map((c) => c.text).join(", ");
  }
  const presets = (S.t.presets && S.t.presets[action]) || [];
  $("presets").replaceChildren(
    ...presets.map((text) => {
      const button = el("button", { type: "button", "aria-pressed": "false" }, text);
      button.addEventListener("click", () => {
        S.dialog.reason = text;
        $("reason-text").value = "";
        for (const b of $("presets").children) b.setAttribute("aria-pressed", String(b === button));
      });
      return button;
    }),
  );
  $("dialog").showModal();
  (action === "correct" ? $("new-plate") : $("presets").firstElementChild || $("reason-text")).focus();
}

function closeDialog() {
  S.dialog = null;
  if ($("dialog").open) $("dialog").close();
}

async function confirmDialog(event) {
  event.preventDefault();
  const dialog = S.dialog;
  if (!dialog) return;
  const typed = $("reason-text").value.trim();
  const reason = typed || dialog.reason;
  if (reason.length < 3) {
    $("dialog-error").textContent = t("reason_required");
    return;
  }
  const body = { reason };
  if (dialog.action !== "manual_open") body.tx_id = dialog.txId;
  if (dialog.action === "correct") {
    const plate = $("new-plate").value.trim();
    const boxes = $("new-containers").value.split(/[,;\s]+/).map((c) => c.trim()).filter(Boolean);
    const current = S.view.vehicle;
    if (!current.plate || plate !== current.plate.text) body.plate = plate;
    if (boxes.join(",") !== current.containers.map((c) => c.text).join(",")) body.containers = boxes;
    if (body.plate === undefined && body.containers === undefined) body.plate = plate;
  }
  const result = await api("POST", ENDPOINT[dialog.action], body);
  if (result.ok) {
    closeDialog();
    toast(() => `${t(dialog.action)}: ${t("done")}`, false);
  } else {
    $("dialog-error").textContent = `${t("refused")}: ${detailText(result.data)}`;
    $("dialog-error").title = typeof result.data?.detail === "string" ? result.data.detail : "";
  }
}

// A short confirmation floating over the bottom of the screen (it covers, never pushes, the evidence
// strip); `say` gives its words, asked again when the officer switches language while it shows.
function toast(say, bad) {
  const node = $("toast");
  S.toast = say;
  node.textContent = say();
  node.classList.toggle("bad", bad);
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    node.hidden = true;
    S.toast = null;
  }, 4000);
}

// --- tabs and start ---------------------------------------------------------------------------
function selectTab(name) {
  S.tab = name;
  for (const page of ["live", "history", "health"]) $(page).hidden = page !== name;
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  if (name === "history") search();
}

async function start() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("lang").addEventListener("click", () => loadLanguage(S.lang === "vi" ? "en" : "vi"));
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => selectTab(tab.dataset.tab));
  $("approve").addEventListener("click", () => openDialog("approve"));
  $("reject").addEventListener("click", () => openDialog("reject"));
  $("correct").addEventListener("click", () => openDialog("correct"));
  $("inspection").addEventListener("click", () => openDialog("inspection_done"));
  $("manual-open").addEventListener("click", () => openDialog("manual_open"));
  $("dialog-form").addEventListener("submit", confirmDialog);
  $("dialog-cancel").addEventListener("click", closeDialog);
  $("dialog").addEventListener("cancel", () => { S.dialog = null; });
  $("reason-text").addEventListener("input", () => {
    for (const b of $("presets").children) b.setAttribute("aria-pressed", "false");
  });
  $("search-form").addEventListener("submit", search);
  await loadLanguage(S.lang);
  const current = await fetch("/api/v1/session", { credentials: "same-origin" });
  if (current.ok) showApp(await current.json());
  else if (!S.session) showLogin("", true); // a login sent meanwhile has already shown the app
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", start);
