// styleforge page: one request per photo and variant, sent one at a time, with progress.
// It only calls the public API (/api/models, /api/stylize), so it shows what programs get.
// A server started with a token answers 401 until the page sends it: the page asks once and
// keeps it in sessionStorage (this tab only), and sends it as a header, never in a URL.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: [], limits: null, photos: [], busy: false, urls: [] };
const RETRIES = 3;
const TOKEN_KEY = "styleforge-token";
const HEADER_SAFE = /^[\x21-\x7E]+$/; // what a header carries as is; the server asks the same

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// Show the token form; a token the server refused is forgotten.
function askForToken(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $("token-message").textContent = message;
  $("token-form").hidden = false;
  $("token").focus();
  setStatus("This server needs an access token.", true);
}

function useToken(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!HEADER_SAFE.test(token)) {
    $("token-message").textContent = "A token is printable ASCII without spaces.";
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  $("token-form").hidden = true;
  loadModels();
}

function setStatus(text, bad = false) {
  $("status").textContent = text;
  $("status").classList.toggle("bad", bad);
}

function objectUrl(blob) {
  const url = URL.createObjectURL(blob);
  state.urls.push(url);
  return url;
}

async function loadModels() {
  const hadToken = sessionStorage.getItem(TOKEN_KEY) !== null;
  let body;
  try {
    const response = await fetch("/api/models", { headers: authHeaders() });
    if (response.status === 401) {
      askForToken(hadToken ? "That token was not accepted; check it and enter it again."
        : "Enter the token from whoever runs this server.");
      return;
    }
    body = await response.json();
    if (!response.ok) throw new Error(body.message || response.statusText);
  } catch (err) {
    setStatus(`Cannot list models: ${err.message}`, true);
    return;
  }
  state.models = body.models;
  state.limits = body.limits;
  $("variants").max = String(body.limits.max_variants);
  const select = $("model");
  select.replaceChildren(...state.models.map((m) => new Option(m.name, m.name)));
  if (!state.models.length) {
    setStatus("No models found under the server's --models folder. Train one, then reload.", true);
  } else {
    setStatus("Choose photos to stylize.");
  }
  fillStyles();
  updateButton();
}

function fillStyles() {
  const model = state.models.find((m) => m.name === $("model").value);
  const styles = model ? model.styles : [];
  $("style").replaceChildren(...styles.map((s) => new Option(s, s)));
}

function choosePhotos(files) {
  state.photos = Array.from(files);
  const names = state.photos.map((f) => f.name).join(", ");
  $("picked").textContent = state.photos.length ? names : "no photos chosen";
  updateButton();
}

function updateButton() {
  $("go").disabled = state.busy || !state.photos.length || !state.models.length;
  const hasReference = $("reference").files.length > 0;
  $("variants").disabled = hasReference;
  $("seed").disabled = hasReference;
}

function intField(id, low, high) {
  const value = Math.round(Number($(id).value));
  return Number.isFinite(value) ? Math.min(high, Math.max(low, value)) : low;
}

function baseName(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

function newCard(photo) {
  const card = $("card-template").content.firstElementChild.cloneNode(true);
  card.querySelector(".name").textContent = photo.name;
  card.querySelector(".original img").src = objectUrl(photo);
  return card;
}

function newResult(card, caption) {
  const figure = $("result-template").content.firstElementChild.cloneNode(true);
  figure.querySelector(".state").textContent = caption;
  card.querySelector(".pair").append(figure);
  return figure;
}

// One POST with upload progress (XHR: fetch cannot report it); resolves {status, blob|json}.
function post(form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/stylize");
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.responseType = "blob";
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.upload.onload = () => onProgress(null);
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new Error("network error: is the server running?"));
    xhr.send(form);
  });
}

async function errorMessage(xhr) {
  try {
    return JSON.parse(await xhr.response.text()).message || xhr.statusText;
  } catch {
    return `${xhr.status} ${xhr.statusText}`;
  }
}

async function stylizeOne(task) {
  const { photo, figure, fields } = task;
  const bar = figure.querySelector("progress");
  const label = figure.querySelector(".state");
  const limit = state.limits ? state.limits.max_upload_bytes : Infinity;
  if (photo.size > limit) {
    return fail(figure, `too large: ${(photo.size / 1048576).toFixed(1)} MB, limit ${(limit / 1048576).toFixed(0)} MB`);
  }
  const form = new FormData();
  form.append("image", photo, photo.name);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  if (task.reference) form.append("reference", task.reference, task.reference.name);
  for (let attempt = 0; ; attempt++) {
    const started = performance.now();
    let timer = null;
    label.textContent = "uploading";
    const xhr = await post(form, (fraction) => {
      if (fraction === null) {
        bar.removeAttribute("value"); // indeterminate while the server works
        timer = setInterval(() => {
          label.textContent = `stylizing… ${((performance.now() - started) / 1000).toFixed(1)} s`;
        }, 100);
      } else {
        bar.value = fraction;
        label.textContent = `uploading ${Math.round(fraction * 100)} %`;
      }
    }).finally(() => clearInterval(timer));
    if (xhr.status === 503 && attempt < RETRIES) {
      const wait = Number(xhr.getResponseHeader("Retry-After") || 5);
      label.textContent = `server busy; retrying in ${wait} s`;
      await new Promise((r) => setTimeout(r, wait * 1000));
      continue;
    }
    if (xhr.status === 401) askForToken("The server no longer accepts the token; enter it again.");
    if (xhr.status !== 200) return fail(figure, await errorMessage(xhr));
    return show(figure, xhr, fields, photo, (performance.now() - started) / 1000);
  }
}

function fail(figure, message) {
  figure.classList.add("failed");
  figure.querySelector("progress").hidden = true;
  figure.querySelector(".state").textContent = message;
  return false;
}

function show(figure, xhr, fields, photo, seconds) {
  const url = objectUrl(xhr.response);
  const img = figure.querySelector("img");
  const ext = xhr.response.type === "image/jpeg" ? "jpg" : "png";
  const link = figure.querySelector(".download");
  return new Promise((resolve) => {
    img.onload = () => {
      figure.querySelector("progress").hidden = true;
      const seed = fields.seed === undefined ? "ref" : `seed ${fields.seed}`;
      figure.querySelector(".state").textContent =
        `${fields.style || "style"}, ${seed} · ${img.naturalWidth}×${img.naturalHeight} · ${seconds.toFixed(1)} s`;
      img.hidden = false;
      link.href = url;
      link.download = `${baseName(photo.name)}-${fields.style || "styled"}-${fields.seed ?? "ref"}.${ext}`;
      link.hidden = false;
      resolve(true);
    };
    img.onerror = () => resolve(fail(figure, "the result could not be shown"));
    img.src = url;
  });
}

async function run(event) {
  event.preventDefault();
  if (state.busy || !state.photos.length) return;
  state.busy = true;
  updateButton();
  const reference = $("reference").files[0] || null;
  const variants = reference ? 1 : intField("variants", 1, Number($("variants").max) || 8);
  const seed = intField("seed", 0, 2 ** 53);
  const common = {
    model: $("model").value,
    style: $("style").value,
    strength: String(Number($("strength").value)),
  };
  const tasks = [];
  const cards = document.createDocumentFragment(); // this run's cards, in order, on top
  for (const photo of state.photos) {
    const card = cards.appendChild(newCard(photo));
    for (let i = 0; i < variants; i++) {
      const fields = reference ? { ...common } : { ...common, seed: String(seed + i) };
      tasks.push({ photo, reference, fields, figure: newResult(card, "waiting") });
    }
  }
  $("results").prepend(cards);
  let done = 0;
  let failed = 0;
  for (const task of tasks) {
    setStatus(`Stylizing ${done + failed + 1} of ${tasks.length}…`);
    let ok;
    try {
      ok = await stylizeOne(task);
    } catch (err) {
      ok = fail(task.figure, err.message);
    }
    if (ok) done++;
    else failed++;
  }
  setStatus(`${done} done${failed ? `, ${failed} failed` : ""}.`, failed > 0);
  state.busy = false;
  updateButton();
}

function clearResults() {
  if (state.busy) return;
  $("results").replaceChildren();
  state.urls.forEach((url) => URL.revokeObjectURL(url));
  state.urls = [];
}

function wireDrop() {
  const drop = $("drop");
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    choosePhotos(Array.from(e.dataTransfer.files).filter((f) => f.type.startsWith("image/") || !f.type));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("photos").addEventListener("change", (e) => choosePhotos(e.target.files));
  $("model").addEventListener("change", fillStyles);
  $("reference").addEventListener("change", updateButton);
  $("strength").addEventListener("input", (e) => {
    $("strength-value").textContent = Number(e.target.value).toFixed(2);
  });
  $("controls").addEventListener("submit", run);
  $("token-form").addEventListener("submit", useToken);
  $("clear").addEventListener("click", clearResults);
  wireDrop();
  loadModels();
});
