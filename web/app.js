// web/app.js — the try-it page's behaviour (web/index.html): lists the served models
// (GET /models), lets a person draw a digit on a canvas or drop photos, sends each image to
// POST /models/<name>/predict with top_k, and shows the top classes as bars with the round-trip
// latency. Plain browser JavaScript, no library and no build step; talks only to this origin.
"use strict";

const TOP_K = 5;
// The drawing is sent at this multiple of the model's input size (112×112 for MNIST's 28×28):
// big enough for the model's declared "digit" preprocessing to find the ink's bounding box and
// centre of mass on the server (a 28×28 image would be used as is, uncentred), small enough to
// keep the request tiny. Drawn white on black, as MNIST's digits are.
const DRAWING_SCALE = 4;

const $ = (id) => document.getElementById(id);
const state = { models: new Map(), model: null, inked: false, drawingSeq: 0, photoQueue: Promise.resolve() };

function setStatus(text, isError = false) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", isError);
}

// A fetch that gives up after `ms` milliseconds, so the page never waits forever.
async function fetchWithin(url, options, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await fetch(url, { ...options, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

function errorText(body, res) {
  if (body && body.error) {
    return typeof body.error === "string" ? body.error : body.error.message || body.error.code;
  }
  return `HTTP ${res.status}`;
}

// POST /models/<name>/predict with one image (a data: URL; predictd accepts the prefix).
async function predict(model, dataUrl) {
  const classes = model.output && model.output.labels && model.output.labels.length;
  const body = { image: dataUrl, top_k: Math.min(TOP_K, classes || TOP_K) };
  const started = performance.now();
  const res = await fetchWithin(`/models/${encodeURIComponent(model.name)}/predict`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  }, 60000);
  let answer = null;
  try {
    answer = await res.json();
  } catch (e) {
    answer = null;
  }
  const ms = performance.now() - started;
  if (!res.ok) {
    throw new Error(errorText(answer, res));
  }
  return { answer, ms };
}

// The answer's best classes, best first: [{label, score}].
function topClasses(answer) {
  if (Array.isArray(answer.top_k)) {
    return answer.top_k;
  }
  if (Array.isArray(answer.probabilities)) {
    return answer.probabilities.map((score, label) => ({ label, score }))
      .sort((a, b) => b.score - a.score).slice(0, TOP_K);
  }
  return [];
}

function renderBars(list, top) {
  list.replaceChildren(...top.map(({ label, score }) => {
    const li = document.createElement("li");
    li.className = "bar";
    li.dataset.label = String(label);
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = String(label);
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.className = "score";
    value.textContent = `${(score * 100).toFixed(1)} %`;
    li.append(name, track, value);
    return li;
  }));
}

// What an answer says, for models that are not classifiers (scores, distribution_mean).
function summary(answer) {
  if (answer.prediction !== undefined) {
    return String(answer.prediction);
  }
  if (answer.score !== undefined) {
    return answer.score.toFixed(2);
  }
  return JSON.stringify(answer.scores || answer);
}

function latencyText(ms) {
  return `round trip ${ms.toFixed(1)} ms`;
}

// --- drawing pad -------------------------------------------------------------------------------

function padContext() {
  const ctx = $("pad").getContext("2d");
  ctx.lineWidth = 22;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#fff";
  ctx.fillStyle = "#fff";
  return ctx;
}

function clearPad() {
  const pad = $("pad");
  const ctx = pad.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  state.inked = false;
  state.drawingSeq += 1;  // an answer still on its way is for the old drawing
  $("digit-label").textContent = "–";
  $("digit-latency").textContent = "";
  $("digit-bars").replaceChildren();
  $("drawing-result").dataset.state = "empty";
}

function padPoint(event) {
  const pad = $("pad");
  const r = pad.getBoundingClientRect();
  return [(event.clientX - r.left) * (pad.width / r.width), (event.clientY - r.top) * (pad.height / r.height)];
}

function setUpPad() {
  const pad = $("pad");
  let drawing = false;
  let last = null;
  pad.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    drawing = true;
    last = padPoint(e);
    const ctx = padContext();
    ctx.beginPath();
    ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    state.inked = true;
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) {
      return;
    }
    const p = padPoint(e);
    const ctx = padContext();
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    last = p;
  });
  const lift = () => {
    if (!drawing) {
      return;
    }
    drawing = false;
    if ($("auto").checked) {
      predictDrawing();
    }
  };
  pad.addEventListener("pointerup", lift);
  pad.addEventListener("pointercancel", lift);
  $("clear").addEventListener("click", clearPad);
  $("predict-drawing").addEventListener("click", predictDrawing);
  clearPad();
}

// The drawing scaled down to DRAWING_SCALE × the model's input, as a PNG data: URL.
function drawingDataUrl(model) {
  const pad = $("pad");
  const small = document.createElement("canvas");
  small.width = Math.min(pad.width, (model.input.width || 28) * DRAWING_SCALE);
  small.height = Math.min(pad.height, (model.input.height || 28) * DRAWING_SCALE);
  const ctx = small.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(pad, 0, 0, small.width, small.height);
  return small.toDataURL("image/png");
}

async function predictDrawing() {
  const model = state.model;
  const result = $("drawing-result");
  if (!model) {
    return;
  }
  if (!state.inked) {
    setStatus("Draw a digit first.");
    return;
  }
  const seq = ++state.drawingSeq;
  result.dataset.state = "pending";
  try {
    const { answer, ms } = await predict(model, drawingDataUrl(model));
    if (seq !== state.drawingSeq) {
      return;  // the pad changed meanwhile; a newer answer will come
    }
    $("digit-label").textContent = summary(answer);
    $("digit-latency").textContent = latencyText(ms);
    renderBars($("digit-bars"), topClasses(answer));
    result.dataset.state = "done";
    setStatus(`${model.name}: ${summary(answer)}`);
  } catch (e) {
    if (seq !== state.drawingSeq) {
      return;
    }
    result.dataset.state = "error";
    $("digit-label").textContent = "?";
    setStatus(`Prediction failed: ${e.message}`, true);
  }
}

// --- photos ------------------------------------------------------------------------------------

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error || new Error("cannot read the file"));
    reader.readAsDataURL(file);
  });
}

function photoCard(file) {
  const card = document.createElement("figure");
  card.className = "photo";
  card.dataset.state = "pending";
  card.dataset.name = file.name;
  const img = document.createElement("img");
  img.alt = file.name;
  img.src = URL.createObjectURL(file);
  img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
  const caption = document.createElement("figcaption");
  const name = document.createElement("p");
  name.className = "name";
  name.textContent = file.name;
  const top = document.createElement("p");
  top.className = "top";
  top.textContent = "…";
  const latency = document.createElement("p");
  latency.className = "latency";
  const bars = document.createElement("ol");
  bars.className = "bars";
  caption.append(name, top, latency, bars);
  card.append(img, caption);
  return { card, top, latency, bars };
}

async function predictPhoto(model, file, view) {
  try {
    const { answer, ms } = await predict(model, await readAsDataUrl(file));
    view.top.textContent = summary(answer);
    view.latency.textContent = `${model.name} · ${latencyText(ms)}`;
    renderBars(view.bars, topClasses(answer));
    view.card.dataset.top = summary(answer);
    view.card.dataset.state = "done";
  } catch (e) {
    view.top.textContent = "";
    view.latency.textContent = e.message;
    view.latency.className = "error";
    view.card.dataset.state = "error";
  }
}

// Each photo gets a card at once; predictions go one after the other (a burst of dropped files
// must not take every worker).
function addPhotos(files) {
  const model = state.model;
  const images = Array.from(files).filter((f) => f.type.startsWith("image/") || f.type === "");
  if (!model || images.length === 0) {
    setStatus(images.length === 0 ? "No image among the dropped files." : "No model to ask.", true);
    return;
  }
  for (const file of images) {
    const view = photoCard(file);
    $("photo-results").prepend(view.card);
    state.photoQueue = state.photoQueue.then(() => predictPhoto(model, file, view));
  }
  setStatus(`${images.length} photo${images.length > 1 ? "s" : ""} sent to ${model.name}.`);
}

function setUpDropzone() {
  const zone = $("dropzone");
  const input = $("files");
  input.addEventListener("change", () => {
    addPhotos(input.files);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer) {
      addPhotos(e.dataTransfer.files);
    }
  });
  // A file dropped beside the zone must not make the browser leave the page to show it.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (e) => e.preventDefault());
  }
}

// --- models ------------------------------------------------------------------------------------

function describe(model) {
  const i = model.input || {};
  const version = model.versions && model.versions.length ? model.versions[model.versions.length - 1].version : "?";
  return `version ${version} · ${model.backend} · input ${i.width}×${i.height}×${i.channels}, ` +
    `preprocessing "${i.resize}" on the server · ${model.output ? model.output.kind : ""}`;
}

function selectModel(name) {
  const model = state.models.get(name);
  if (!model) {
    return;
  }
  state.model = model;
  $("model").value = name;
  $("model-info").textContent = describe(model);
  const drawable = model.input && (model.input.resize === "digit" || model.input.channels === 1);
  $("draw-panel").hidden = !drawable;
  $("photo-panel").hidden = false;
  clearPad();
  $("photo-results").replaceChildren();
  const url = new URL(window.location.href);
  url.searchParams.set("model", name);
  window.history.replaceState(null, "", url);
}

async function loadModels() {
  let listing;
  try {
    const res = await fetchWithin("/models", { headers: { Accept: "application/json" } }, 15000);
    listing = await res.json();
    if (!res.ok) {
      throw new Error(errorText(listing, res));
    }
  } catch (e) {
    setStatus(`Could not list the models: ${e.message}`, true);
    return;
  }
  const select = $("model");
  const served = (listing.models || []).filter((m) => m.state === "ready");
  for (const m of served) {
    state.models.set(m.name, m);
    const option = document.createElement("option");
    option.value = m.name;
    option.textContent = m.name;
    select.append(option);
  }
  const broken = (listing.models || []).length - served.length;
  if (served.length === 0) {
    setStatus("This server serves no model right now.", true);
    return;
  }
  select.disabled = false;
  select.addEventListener("change", () => selectModel(select.value));
  const wanted = new URLSearchParams(window.location.search).get("model");
  selectModel(state.models.has(wanted) ? wanted : (state.models.has(listing.default) ? listing.default : served[0].name));
  setStatus(`${served.length} model${served.length > 1 ? "s" : ""} served` +
    (broken > 0 ? ` (${broken} not served: see GET /models)` : "") + ".");
  document.body.dataset.ready = "true";
}

setUpPad();
setUpDropzone();
loadModels();
