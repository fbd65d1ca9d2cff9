// The opendream playground: a form built from the model's published input schema, talking to
// the same public API as any client (RunComfy's protocol plus /v1/files and /v1/requests).
"use strict";

const TOKEN_KEY = "opendream.token";
const POLL_MS = 400;

const $ = (selector) => document.querySelector(selector);
const state = { schema: null, model: null, fields: new Map(), requestId: null, pollTimer: null };

// ---------------------------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(status, body, text) {
    const message = (body && (body.error_message || body.message)) || text || `HTTP ${status}`;
    super(message);
    this.status = status;
    this.code = body ? body.error_code : undefined;
    this.detail = body ? body.detail : undefined;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (token()) headers.set("Authorization", `Bearer ${token()}`);
  if (options.json !== undefined) {
    headers.set("Content-Type", "application/json");
    options.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, { ...options, headers });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : {}; } catch { body = null; }
  // RunComfy-style servers may answer an error with 200 and an error_code.
  if (!response.ok || (body && body.error_code)) {
    const error = new ApiError(response.status, body, text.slice(0, 200));
    if (response.status === 401) needToken(error.message);
    throw error;
  }
  return body;
}

const modelPath = (id) => "/v1/models/" + id.split("/").map(encodeURIComponent).join("/");
const requestPath = (id, action) => `/v1/requests/${encodeURIComponent(id)}/${action}`;

// ---------------------------------------------------------------------------------------------
// Token

function needToken(message) {
  $("#token-form").classList.add("missing");
  $("#token").placeholder = message || "paste your token";
  $("#token").focus();
}

function setupToken() {
  $("#token").value = token();
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
    $("#token-form").classList.remove("missing");
    start();
  });
  $("#token-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $("#token").value = "";
    needToken();
  });
}

// ---------------------------------------------------------------------------------------------
// Models and the generated form

async function loadModels() {
  const body = await api("/v1/models");
  const list = Array.isArray(body) ? body : body.models || body.data || [];
  const ids = list.map((m) => (typeof m === "string" ? m : m.model_id || m.id)).filter(Boolean);
  const select = $("#model");
  const previous = select.value || sessionStorage.getItem("opendream.model");
  select.replaceChildren(...ids.map((id) => new Option(id, id)));
  if (ids.includes(previous)) select.value = previous;
  await loadSchema(select.value);
}

async function loadSchema(modelId) {
  if (!modelId) return;
  sessionStorage.setItem("opendream.model", modelId);
  const body = await api(modelPath(modelId) + "/schema");
  state.model = modelId;
  state.schema = body.input || body;
  renderForm(state.schema);
  clearErrors();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function isImageList(prop) {
  return prop.type === "array" && prop.items && prop.items.format === "image_uri";
}

function renderForm(schema) {
  const container = $("#fields");
  container.replaceChildren();
  state.fields.clear();
  const required = new Set(schema.required || []);
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    const field = isImageList(prop)
      ? imageField(name, prop, required.has(name))
      : scalarField(name, prop, required.has(name));
    state.fields.set(name, field);
    container.append(field.node);
  }
}

function fieldShell(name, prop, isRequired, control, limit) {
  const id = `f-${name}`;
  const label = el("label", { for: id }, el("span", { text: prop.title || name },
    isRequired ? el("span", { class: "required", text: "*", title: "required" }) : null), limit);
  const help = prop.description ? el("p", { class: "hint", text: prop.description }) : null;
  const error = el("p", { class: "field-error", id: `${id}-error`, role: "alert" });
  const node = el("div", { class: "field", "data-field": name }, label, control, help, error);
  return { node, error };
}

function scalarField(name, prop, isRequired) {
  const id = `f-${name}`;
  let control;
  let limit = null;
  if (Array.isArray(prop.enum)) {
    control = el("select", { id, name });
    if (!isRequired && prop.default === undefined) control.append(new Option("—", ""));
    for (const choice of prop.enum) control.append(new Option(String(choice), String(choice)));
    if (prop.default !== undefined) control.value = String(prop.default);
  } else if (prop.type === "integer" || prop.type === "number") {
    control = el("input", { id, name, type: "number", step: prop.type === "integer" ? 1 : "any",
      min: prop.minimum, max: prop.maximum, placeholder: name === "seed" ? "random" : "" });
    if (prop.default !== undefined) control.value = prop.default;
  } else {
    const long = (prop.maxLength || 0) > 120 || ["text", "prompt"].includes(name);
    control = el(long ? "textarea" : "input", { id, name, type: long ? undefined : "text", spellcheck: true });
    if (prop.default !== undefined) control.value = prop.default;
    if (prop.maxLength) {
      limit = el("span", { class: "limit" });
      const update = () => {
        const used = [...control.value].length;
        limit.textContent = `${used} / ${prop.maxLength}`;
        limit.classList.toggle("over", used > prop.maxLength);
      };
      control.addEventListener("input", update);
      update();
    }
  }
  const shell = fieldShell(name, prop, isRequired, control, limit);
  control.setAttribute("aria-describedby", `${id}-error`);
  return {
    ...shell,
    value() {
      const raw = control.value;
      if (raw === "" || raw === undefined) return undefined;
      if (prop.type === "integer") return Number.parseInt(raw, 10);
      if (prop.type === "number") return Number(raw);
      return raw;
    },
    pending: () => false,
    markItem() {},
    clearItems() {},
  };
}

// ---------------------------------------------------------------------------------------------
// Images: upload (POST /v1/files), URL, or drag and drop, with previews

function imageField(name, prop, isRequired) {
  const id = `f-${name}`;
  const max = prop.maxItems || Infinity;
  const items = [];
  const list = el("ol", { class: "images" });
  const input = el("input", { type: "file", accept: "image/png,image/jpeg", multiple: true, hidden: true, id });
  const pick = el("button", { type: "button", class: "pick", text: "choose files" });
  const zone = el("div", { class: "dropzone" }, "Drop images here or ", pick, input);
  const urlInput = el("input", { type: "url", placeholder: "https://… image URL", "aria-label": "Image URL" });
  const addUrl = el("button", { type: "button", text: "Add URL" });
  const limit = el("span", { class: "limit" });
  const control = el("div", {}, zone, el("div", { class: "url-row" }, urlInput, addUrl), list);
  const shell = fieldShell(name, prop, isRequired, control, limit);

  const refresh = () => {
    const min = prop.minItems ? `${prop.minItems}–` : "up to ";
    limit.textContent = `${items.length} / ${min}${max === Infinity ? "∞" : max}`;
    limit.classList.toggle("over", items.length > max);
  };

  function addItem(label, preview) {
    const node = $("#image-item").content.firstElementChild.cloneNode(true);
    const item = { node, uri: null, uploading: false };
    node.querySelector("img").src = preview;
    node.querySelector(".image-name").textContent = label;
    node.querySelector(".remove").addEventListener("click", () => {
      items.splice(items.indexOf(item), 1);
      node.remove();
      refresh();
    });
    items.push(item);
    list.append(node);
    refresh();
    return item;
  }

  async function addFiles(files) {
    for (const file of files) {
      if (items.length >= max) break;
      const item = addItem(file.name, URL.createObjectURL(file));
      const stateText = item.node.querySelector(".image-state");
      item.uploading = true;
      stateText.textContent = "uploading…";
      try {
        const form = new FormData();
        form.append("file", file, file.name);
        const uploaded = await api("/v1/files", { method: "POST", body: form });
        item.uri = uploaded.uri;
        stateText.textContent = "uploaded";
      } catch (error) {
        item.node.classList.add("invalid");
        stateText.textContent = "";
        item.node.querySelector(".item-error").textContent = error.message;
      } finally {
        item.uploading = false;
      }
    }
  }

  function addUrlItem() {
    const value = urlInput.value.trim();
    if (!value || items.length >= max) return;
    const item = addItem(value, value);
    item.uri = value;
    item.node.querySelector(".image-state").textContent = "URL";
    urlInput.value = "";
  }

  pick.addEventListener("click", () => input.click());
  input.addEventListener("change", () => { addFiles([...input.files]); input.value = ""; });
  addUrl.addEventListener("click", addUrlItem);
  urlInput.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); addUrlItem(); } });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) zone.addEventListener(type, () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    const files = [...e.dataTransfer.files].filter((f) => f.type.startsWith("image/"));
    if (files.length) addFiles(files);
    else {
      const text = e.dataTransfer.getData("text/uri-list") || e.dataTransfer.getData("text/plain");
      if (text) { urlInput.value = text.split("\n")[0]; addUrlItem(); }
    }
  });
  refresh();

  return {
    ...shell,
    value: () => (items.length ? items.filter((i) => i.uri).map((i) => i.uri) : undefined),
    pending: () => items.some((i) => i.uploading),
    markItem(index, message) {
      const item = items.filter((i) => i.uri)[index];
      if (!item) return false;
      item.node.classList.add("invalid");
      item.node.querySelector(".item-error").textContent = message;
      return true;
    },
    clearItems() {
      for (const item of items) {
        if (!item.uri) continue;  // keep the message of a failed upload
        item.node.classList.remove("invalid");
        item.node.querySelector(".item-error").textContent = "";
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Errors at their fields

function clearErrors() {
  $("#form-error").hidden = true;
  $("#form-error").textContent = "";
  for (const field of state.fields.values()) {
    field.error.textContent = "";
    field.node.classList.remove("invalid");
    field.clearItems();
  }
}

function showFormError(message) {
  $("#form-error").textContent = message;
  $("#form-error").hidden = false;
}

function showProblems(error) {
  const problems = Array.isArray(error.detail) ? error.detail : [];
  const unplaced = [];
  for (const problem of problems) {
    const loc = (problem.loc || []).filter((part) => part !== "body");
    const field = state.fields.get(String(loc[0]));
    if (!field) { unplaced.push(problem.msg); continue; }
    field.node.classList.add("invalid");
    if (typeof loc[1] === "number" && field.markItem(loc[1], problem.msg)) continue;
    const previous = field.error.textContent;
    if (!previous.includes(problem.msg)) field.error.textContent = previous ? `${previous} ${problem.msg}` : problem.msg;
  }
  if (unplaced.length || !problems.length) showFormError([error.message, ...unplaced].join(" — "));
  const first = document.querySelector(".field.invalid");
  if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
}

// ---------------------------------------------------------------------------------------------
// Submit, live status, results

async function submit(event) {
  event.preventDefault();
  clearErrors();
  if (!token()) { needToken("a token is needed to generate"); return; }
  const fields = [...state.fields.values()];
  if (fields.some((f) => f.pending())) { showFormError("Wait for the uploads to finish."); return; }
  const body = {};
  for (const [name, field] of state.fields) {
    const value = field.value();
    if (value !== undefined && !Number.isNaN(value)) body[name] = value;
  }
  const button = $("#submit");
  button.disabled = true;
  try {
    const answer = await api(modelPath(state.model), { method: "POST", json: body });
    follow(answer.request_id);
    loadHistory();
  } catch (error) {
    if (error.status === 422 || Array.isArray(error.detail)) showProblems(error);
    else showFormError(error.message);
  } finally {
    button.disabled = false;
  }
}

function follow(requestId) {
  clearTimeout(state.pollTimer);
  state.requestId = requestId;
  $("#status-card").hidden = false;
  $("#request-id").textContent = requestId;
  $("#status-text").textContent = "Submitted";
  $("#bars").replaceChildren();
  $("#gallery-card").hidden = true;
  poll(requestId);
}

async function poll(requestId) {
  if (requestId !== state.requestId) return;
  let status;
  try {
    status = await api(requestPath(requestId, "status"));
  } catch (error) {
    $("#status-text").textContent = error.message;
    state.pollTimer = setTimeout(() => poll(requestId), POLL_MS * 4);
    return;
  }
  if (requestId !== state.requestId) return;
  renderStatus(status);
  if (status.status === "completed" || status.status === "cancelled") {
    $("#cancel").hidden = true;
    await showResult(requestId);
    loadHistory();
  } else {
    state.pollTimer = setTimeout(() => poll(requestId), POLL_MS);
  }
}

function renderStatus(status) {
  const text = $("#status-text");
  $("#cancel").hidden = status.status !== "in_queue";
  if (status.status === "in_queue") {
    const position = status.queue_position;
    text.textContent = position === 0 ? "In queue — next to run" : `In queue — position ${position ?? "?"}`;
  } else if (status.status === "in_progress") {
    text.textContent = "Generating…";
    const p = status.progress;
    if (p && p.images) renderBars(p);
  } else {
    text.textContent = status.status === "completed" ? "Finished" : "Cancelled";
  }
}

function renderBars(p, allDone = false) {
  const bars = $("#bars");
  while (bars.children.length < p.images) {
    const n = bars.children.length + 1;
    bars.append(el("div", { class: "bar-row", "data-image": n },
      el("span", { text: `Image ${n}/${p.images}` }),
      el("div", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 }, el("span")),
      el("span", { class: "hint step" })));
  }
  [...bars.children].forEach((row, i) => {
    const n = i + 1;
    const fraction = allDone || n < p.image ? 1 : n === p.image && p.steps ? (p.step || 0) / p.steps : 0;
    const bar = row.querySelector(".bar");
    bar.firstElementChild.style.width = `${Math.round(fraction * 100)}%`;
    bar.setAttribute("aria-valuenow", Math.round(fraction * 100));
    bar.classList.toggle("done", fraction >= 1);
    row.querySelector(".step").textContent = fraction >= 1 ? "done" : n === p.image ? `step ${p.step}/${p.steps}` : "waiting";
  });
}

async function showResult(requestId) {
  const result = await api(requestPath(requestId, "result"));
  if (requestId !== state.requestId) return;
  const output = result.output || {};
  const urls = [].concat(output.image || [], output.images || []);
  const gallery = $("#gallery");
  gallery.replaceChildren();
  $("#gallery-card").hidden = false;
  const bars = $("#bars");
  const count = result.status === "succeeded" ? Math.max(urls.length, bars.children.length) : bars.children.length;
  if (count) renderBars({ images: count }, result.status === "succeeded");
  const note = [];
  if (result.status === "failed") note.push(`Failed: ${result.error || "unknown error"}`);
  else if (result.status === "cancelled") note.push("The request was cancelled.");
  else if (!urls.length && result.status === "succeeded") note.push("No files: they may have expired.");
  const meta = result.metadata || {};
  const seed = meta.seed && typeof meta.seed === "object" ? meta.seed.value : meta.seed;
  if (seed !== undefined && seed !== null) note.push(`seed ${seed}`);
  $("#status-text").textContent = { succeeded: "Succeeded", failed: "Failed", cancelled: "Cancelled" }[result.status]
    || result.status;
  $("#result-note").textContent = note.join(" · ");
  urls.forEach((url, i) => {
    const name = `${requestId}_${i}${(new URL(url, location.href).pathname.match(/\.\w+$/) || [".png"])[0]}`;
    gallery.append(el("figure", {},
      el("a", { href: url, target: "_blank", rel: "noopener" }, el("img", { src: url, alt: `Result ${i + 1}`, loading: "lazy" })),
      el("figcaption", {}, el("span", { text: `#${i + 1}` }), el("a", { href: url, download: name, text: "Download" }))));
  });
}

async function cancelCurrent() {
  if (!state.requestId) return;
  try {
    const answer = await api(requestPath(state.requestId, "cancel"), { method: "POST" });
    $("#status-text").textContent = answer.outcome === "cancelled" ? "Cancelled" : "Already running: cannot cancel";
  } catch (error) {
    $("#status-text").textContent = error.message;
  }
}

// ---------------------------------------------------------------------------------------------
// History of this token's requests

async function loadHistory() {
  const list = $("#history");
  let requests = [];
  try {
    const body = await api("/v1/requests?limit=20");
    requests = body.requests || [];
  } catch (error) {
    $("#history-empty").textContent = error.status === 404 ? "History is not available on this server." : error.message;
    $("#history-empty").hidden = false;
    return;
  }
  list.replaceChildren(...requests.map((r) => {
    const when = r.created_at ? new Date(r.created_at).toLocaleString() : "";
    const button = el("button", { type: "button", "data-request": r.request_id },
      el("span", { text: (r.model_id || "").replace("bytedance/seedream-4-0/", "") }),
      el("span", { class: `badge ${r.status}`, text: r.status }),
      el("span", { class: "when", text: when }),
      el("code", { text: r.request_id.slice(0, 8) }));
    button.addEventListener("click", () => follow(r.request_id));
    return el("li", {}, button);
  }));
  $("#history-empty").textContent = "No requests yet.";
  $("#history-empty").hidden = requests.length > 0;
}

// ---------------------------------------------------------------------------------------------

async function start() {
  try {
    await loadModels();
  } catch (error) {
    showFormError(`Could not load the models: ${error.message}`);
    return;
  }
  if (token()) loadHistory();
}

document.addEventListener("DOMContentLoaded", () => {
  setupToken();
  $("#model").addEventListener("change", (e) => loadSchema(e.target.value).catch((err) => showFormError(err.message)));
  $("#request-form").addEventListener("submit", submit);
  $("#cancel").addEventListener("click", cancelCurrent);
  $("#history-refresh").addEventListener("click", loadHistory);
  if (!token()) needToken();
  start();
});
