// Evidence first: the plate and each container cut from its evidence JPEG and shown large beside its read;
// a camera frame opens full screen, zoomable by pinch or wheel. The JPEGs come from the authenticated
// evidence endpoint (the session cookie); the region is cut in a canvas, so no second image is served.
"use strict";

const EVIDENCE = { images: new Map(), key: null, zoom: null };
const CROP_HEIGHT = 112;

function evidenceImage(url) {
  let img = EVIDENCE.images.get(url);
  if (!img) {
    img = new Image();
    img.src = url;
    EVIDENCE.images.set(url, img);
    if (EVIDENCE.images.size > 24) EVIDENCE.images.delete(EVIDENCE.images.keys().next().value);
  }
  return img;
}

// The read's region with a margin, scaled to `height` px (at most `maxWidth`), drawn once the JPEG loads.
function cropCanvas(read, maxWidth) {
  const canvas = el("canvas", { class: "crop", role: "img", "aria-label": `${t("evidence")} ${read.text}`, title: t("tap_to_enlarge") });
  const img = evidenceImage(read.evidence_url);
  const draw = () => {
    const [x, y, w, h] = read.evidence_box;
    const mx = Math.round(w * 0.06), my = Math.round(h * 0.2);
    const sx = Math.max(0, x - mx), sy = Math.max(0, y - my);
    const sw = Math.min(img.naturalWidth - sx, w + 2 * mx), sh = Math.min(img.naturalHeight - sy, h + 2 * my);
    if (sw <= 0 || sh <= 0) return;
    const scale = Math.min(CROP_HEIGHT / sh, maxWidth / sw);
    canvas.width = Math.round(sw * scale);
    canvas.height = Math.round(sh * scale);
    canvas.getContext("2d").drawImage(img, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
    canvas.dataset.drawn = "1";
  };
  if (img.complete && img.naturalWidth) draw();
  else img.addEventListener("load", draw, { once: true });
  canvas.addEventListener("click", () => openViewer(read.evidence_url, read.text));
  return canvas;
}

function hasEvidence(read) {
  return !!(read && read.evidence_url && read.evidence_box);
}

// One object: its crop (or "no image") and its read; a corrected read shows the camera's text struck
// through beside the officer's.
function evidenceBlock(kind, label, camera, corrected, maxWidth) {
  const crop = hasEvidence(camera) ? cropCanvas(camera, maxWidth) : el("div", { class: "crop none" }, t("no_image"));
  const read = el("div", { class: "crop-read" });
  if (corrected !== null && camera && corrected !== camera.text) {
    read.append(el("s", { class: "was" }, camera.text), el("span", { class: "arrow" }, ` ${t("corrected_to")} `), el("strong", { class: "now" }, corrected || "—"));
  } else {
    read.append(el("strong", { class: "now" }, camera ? camera.text : corrected || "—"));
  }
  return el("div", { class: `crop-block crop-${kind}` }, el("div", { class: "label" }, label), crop, read);
}

function renderEvidence(view) {
  const strip = $("evidence-strip");
  const vehicle = view.vehicle;
  const key = vehicle
    ? JSON.stringify([S.lang, vehicle.tx_id, vehicle.plate, vehicle.camera_plate, vehicle.containers, vehicle.camera_containers])
    : "";
  if (EVIDENCE.key === key) return;
  EVIDENCE.key = key;
  strip.hidden = !vehicle;
  if (!vehicle) {
    strip.replaceChildren();
    return;
  }
  // The camera's reads keep their evidence after an officer's correction: their crops stay on screen.
  const plateCamera = vehicle.camera_plate || vehicle.plate;
  const plateNow = vehicle.camera_plate ? (vehicle.plate ? vehicle.plate.text : "") : null;
  const boxesCamera = vehicle.camera_containers || vehicle.containers;
  const boxesNow = vehicle.camera_containers ? vehicle.containers.map((c) => c.text) : null;
  const blocks = [evidenceBlock("plate", t("plate"), plateCamera, plateNow, 360)];
  boxesCamera.forEach((read, i) => {
    const now = boxesNow === null ? null : boxesNow[i] !== undefined ? boxesNow[i] : "";
    blocks.push(evidenceBlock("container", `${t("containers")} ${i + 1}`, read, now, 300));
  });
  if (boxesNow !== null) {
    for (const extra of boxesNow.slice(boxesCamera.length)) blocks.push(evidenceBlock("container", t("containers"), null, extra, 300));
  }
  const seen = new Set();
  const thumbs = [plateCamera, ...boxesCamera]
    .filter((r) => r && r.evidence_url && !seen.has(r.evidence_url) && seen.add(r.evidence_url))
    .map((r) => {
      const button = el("button", { type: "button", class: "thumb", title: t("tap_to_enlarge") }, el("img", { src: r.evidence_url, alt: `${t("evidence")} ${r.source}` }), el("span", {}, r.source));
      button.addEventListener("click", () => openViewer(r.evidence_url, r.source));
      return button;
    });
  strip.replaceChildren(el("div", { class: "crops" }, ...blocks), el("div", { class: "thumbs" }, ...thumbs));
}

// --- full-screen viewer: wheel and pinch zoom about the pointer, drag to pan, Close or Escape ------
function openViewer(url, caption) {
  const img = $("viewer-img");
  img.src = url;
  $("viewer-caption").textContent = `${caption} · ${t("zoom_hint")}`;
  EVIDENCE.zoom = { scale: 1, x: 0, y: 0, pointers: new Map(), pinch: null };
  applyZoom();
  $("viewer").showModal();
  $("viewer-close").focus();
}

function closeViewer() {
  if ($("viewer").open) $("viewer").close();
  EVIDENCE.zoom = null;
}

function applyZoom() {
  const z = EVIDENCE.zoom;
  if (!z) return;
  const img = $("viewer-img");
  img.style.transform = `translate(${z.x}px, ${z.y}px) scale(${z.scale})`;
  img.dataset.scale = z.scale.toFixed(3);
}

// Zoom by `factor` keeping the image point under (cx, cy) (stage coordinates) where it is.
function zoomAbout(factor, cx, cy) {
  const z = EVIDENCE.zoom;
  const scale = Math.min(8, Math.max(1, z.scale * factor));
  const applied = scale / z.scale;
  z.x = cx - (cx - z.x) * applied;
  z.y = cy - (cy - z.y) * applied;
  z.scale = scale;
  if (scale === 1) z.x = z.y = 0;
  applyZoom();
}

function stagePoint(event) {
  const rect = $("viewer-stage").getBoundingClientRect();
  return [event.clientX - rect.left, event.clientY - rect.top];
}

function setUpViewer() {
  const stage = $("viewer-stage");
  $("viewer-close").addEventListener("click", closeViewer);
  $("viewer").addEventListener("close", () => (EVIDENCE.zoom = null));
  stage.addEventListener("wheel", (event) => {
    if (!EVIDENCE.zoom) return;
    event.preventDefault();
    const [cx, cy] = stagePoint(event);
    zoomAbout(Math.exp(-event.deltaY * 0.002), cx, cy);
  }, { passive: false });
  stage.addEventListener("pointerdown", (event) => {
    const z = EVIDENCE.zoom;
    if (!z) return;
    z.pointers.set(event.pointerId, stagePoint(event));
    if (z.pointers.size === 2) {
      const [a, b] = [...z.pointers.values()];
      z.pinch = Math.hypot(a[0] - b[0], a[1] - b[1]);
    }
  });
  stage.addEventListener("pointermove", (event) => {
    const z = EVIDENCE.zoom;
    if (!z || !z.pointers.has(event.pointerId)) return;
    const before = z.pointers.get(event.pointerId);
    const now = stagePoint(event);
    z.pointers.set(event.pointerId, now);
    if (z.pointers.size === 2 && z.pinch) {
      const [a, b] = [...z.pointers.values()];
      const distance = Math.hypot(a[0] - b[0], a[1] - b[1]);
      zoomAbout(distance / z.pinch, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
      z.pinch = distance;
    } else if (z.pointers.size === 1 && z.scale > 1) {
      z.x += now[0] - before[0];
      z.y += now[1] - before[1];
      applyZoom();
    }
  });
  const lift = (event) => {
    const z = EVIDENCE.zoom;
    if (!z) return;
    z.pointers.delete(event.pointerId);
    if (z.pointers.size < 2) z.pinch = null;
  };
  for (const kind of ["pointerup", "pointercancel", "pointerleave"]) stage.addEventListener(kind, lift);
}

document.addEventListener("DOMContentLoaded", setUpViewer);
