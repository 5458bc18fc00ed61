// Lane alarms and device health in the screen's language: each device fault by its known kind (the
// driver's raw English text, "[Errno 2] ...", stays in a tooltip, and on a second line in English), ages
// as people say them ("7 phút trước"), cameras with their state, rate and last frame.
"use strict";

function ageText(seconds) {
  if (seconds === null || seconds === undefined) return t("unknown");
  const s = Math.max(0, seconds);
  const say = (key, n) => t(key).replace("{n}", Math.round(n).toLocaleString(locale()));
  if (s < 5) return t("age_now");
  if (s < 60) return say("age_s", s);
  if (s < 3600) return say("age_min", s / 60);
  if (s < 86400) return say("age_h", s / 3600);
  return say("age_d", s / 86400);
}

function clockTime(iso) {
  return new Date(iso).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

function secondsSince(iso) {
  return (Date.now() - new Date(iso).getTime()) / 1000;
}

// A device's state in words: its kind in the screen's language; the raw text as a tooltip, and shown
// beneath in English (a technician's words, not an officer's).
function faultWords(kind, raw, ok) {
  const key = "fault_" + (kind || "other");
  const words = ok ? t("ok") : S.t[key] !== undefined ? t(key) : t("fault_other");
  const node = el("span", { class: ok ? "good" : "bad", title: raw || "" }, words);
  if (!ok && raw && S.lang === "en") return el("span", {}, node, el("small", { class: "raw" }, raw));
  return node;
}

function healthLine(label, ok, kind, raw) {
  return el("div", {}, `${label}: `, faultWords(kind, raw, ok));
}

function alarmItem(alarm) {
  const key = "alarm_" + alarm.code;
  const words = S.t[key] !== undefined ? t(key) : `${t("alarm_other")}: ${alarm.code}`;
  const when = `${t("alarm_since")} ${clockTime(alarm.since)} (${ageText(secondsSince(alarm.since))})`;
  return el("li", { class: "alarm", "data-code": alarm.code, title: alarm.detail }, el("strong", {}, words), el("small", {}, when));
}

// A sync alarm (outbox_backlog, inbound_restarted, ...) in the screen's language, its code as the tooltip.
function syncAlarmItem(code) {
  const key = "sync_alarm_" + code;
  const words = S.t[key] !== undefined ? t(key) : `${t("sync_alarm_other")}: ${code}`;
  return el("li", { class: "alarm", "data-code": code, title: code }, words);
}

function renderAlarms(view) {
  const list = $("lane-alarms");
  list.hidden = !view.alarms.length;
  list.replaceChildren(...view.alarms.map(alarmItem));
  $("lane-state").closest(".state-card").classList.toggle("alarmed", view.alarms.length > 0);
}

function brokerWords(sync) {
  if (sync.enabled === false) return t("sync_disabled");
  if (sync.enabled === null && sync.broker_connected === null) return t("sync_not_running");
  if (sync.broker_connected === null) return t("unknown");
  return sync.broker_connected ? t("ok") : t("down");
}

function cameraItem(camera) {
  const ok = camera.state === "OK";
  const state = el("span", { class: ok ? "good" : camera.state === "FAULT" ? "bad" : "" }, t("camera_" + camera.state));
  const facts = `${camera.fps.toLocaleString(locale(), { maximumFractionDigits: 1 })} ${t("fps")} · ${t("last_frame")} ${camera.last_frame_age_s === null ? "—" : ageText(camera.last_frame_age_s)}`;
  const item = el("li", { class: "camera", "data-camera": camera.id }, el("strong", {}, camera.id), " ", state, el("small", {}, facts));
  if (camera.fault) item.append(el("div", {}, faultWords(camera.fault_kind, camera.fault, false)));
  return item;
}

function renderHealth(view) {
  $("h-modbus").replaceChildren(faultWords(view.modbus.kind, view.modbus.detail, view.modbus.up));
  const weight = view.scale.last_weight_kg === null ? "" : ` — ${Math.round(view.scale.last_weight_kg).toLocaleString(locale())} kg`;
  $("h-scale").replaceChildren(faultWords(view.scale.kind, view.scale.detail, view.scale.ok), weight);
  $("h-cameras").replaceChildren(
    ...(view.cameras.length ? view.cameras.map(cameraItem) : [el("li", { class: "muted" }, t("no_cameras"))]),
  );
  $("h-alarms").replaceChildren(
    ...(view.alarms.length ? view.alarms.map(alarmItem) : [el("li", { class: "muted" }, t("none"))]),
  );
  const age = (s) => (s === null ? t("unknown") : ageText(s));
  $("h-sync").replaceChildren(
    el("dt", {}, t("broker")), el("dd", {}, brokerWords(view.sync)),
    el("dt", {}, t("outbox_depth")), el("dd", {}, view.sync.outbox_depth),
    el("dt", {}, t("oldest_pending")), el("dd", {}, age(view.sync.oldest_pending_age_s)),
    el("dt", {}, t("last_clearance")), el("dd", {}, age(view.sync.last_clearance_age_s)),
    el("dt", {}, t("sync_alarms")),
    el("dd", { class: view.sync.alarms.length ? "bad" : "" },
      view.sync.alarms.length ? el("ul", { class: "sync-alarms" }, ...view.sync.alarms.map(syncAlarmItem)) : t("none")),
  );
}
