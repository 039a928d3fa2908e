// The search-by-example page. Plain JavaScript, no build step.
// The address bar holds the whole search (?id= or ?code=, k, mode, filters, page), so every
// search has a link that can be shared, and the back button walks through searches.
"use strict";

const $ = (id) => document.getElementById(id);
const OPTION_NAMES = ["k", "mode", "prefix", "label_field", "label"];
// Uploaded images stay in this tab only (object URLs), keyed by their code.
const uploadedImages = new Map();
let info = null;
let sequence = 0; // answers to older requests are dropped

function stateFromUrl() {
  const params = new URLSearchParams(location.search);
  const state = { page: Number(params.get("page") || 1) };
  for (const name of ["id", "code", ...OPTION_NAMES]) {
    if (params.get(name)) state[name] = params.get(name);
  }
  return state;
}

function urlOf(state) {
  const params = new URLSearchParams();
  for (const name of ["id", "code", ...OPTION_NAMES]) {
    if (state[name]) params.set(name, state[name]);
  }
  if (state.page > 1) params.set("page", state.page);
  return "/?" + params.toString();
}

function optionsFromForm(state) {
  const next = { ...state, page: 1 };
  next.k = $("k").value;
  next.mode = $("mode").value;
  next.prefix = $("prefix").value.trim();
  next.label_field = $("label-field").value.trim() === "label" ? "" : $("label-field").value.trim();
  next.label = $("label").value.trim();
  return next;
}

function showForm(state) {
  $("k").value = state.k || (info ? info.default_k : 100);
  $("mode").value = state.mode || "exact";
  $("prefix").value = state.prefix || "";
  $("label-field").value = state.label_field || "label";
  $("label").value = state.label || "";
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
  if (message) document.body.dataset.state = "error";
}

async function answerOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok) {
    const reason = body && body.error ? body.error : `the server answered ${response.status}`;
    throw new Error(reason);
  }
  return body;
}

async function search(state) {
  showForm(state);
  if (!state.id && !state.code) {
    document.body.dataset.state = "idle";
    return;
  }
  const mine = ++sequence;
  document.body.dataset.state = "loading";
  const params = new URLSearchParams(urlOf(state).slice(2));
  try {
    const answer = await answerOf(await fetch("/api/search?" + params.toString()));
    if (mine === sequence) render(answer, state);
  } catch (error) {
    if (mine === sequence) showError(error.message);
  }
}

async function upload(file) {
  if (!file) return;
  const state = optionsFromForm(stateFromUrl());
  delete state.id;
  delete state.code;
  const params = new URLSearchParams(urlOf(state).slice(2));
  params.set("name", file.name);
  const mine = ++sequence;
  document.body.dataset.state = "loading";
  try {
    const response = await fetch("/api/upload?" + params.toString(), {
      method: "POST",
      body: file,
      headers: { "Content-Type": file.type || "application/octet-stream" },
    });
    const answer = await answerOf(response);
    if (mine !== sequence) return;
    uploadedImages.set(answer.query.code, { url: URL.createObjectURL(file), name: file.name });
    state.code = answer.query.code;
    history.pushState(null, "", urlOf(state));
    render(answer, state);
  } catch (error) {
    if (mine === sequence) showError(error.message);
  } finally {
    $("file").value = "";
  }
}

function render(answer, state) {
  showError("");
  const query = answer.query;
  $("query").hidden = false;
  const image = $("query-image");
  const uploaded = uploadedImages.get(query.code);
  let name = "";
  if (query.kind === "indexed") {
    name = query.path || query.id;
    setImage(image, query.image_url);
  } else if (uploaded) {
    name = `${uploaded.name} (uploaded, not stored)`;
    setImage(image, uploaded.url);
  } else {
    name = "an uploaded image (not stored on the server): searched by its code";
    setImage(image, null);
  }
  $("query-name").textContent = name;
  $("query-code").textContent = query.code;
  let timing = `${answer.mode} search for the ${answer.k} nearest: ${answer.search_ms} ms`;
  if (answer.encode_ms !== undefined) timing += ` (+ ${answer.encode_ms} ms to encode the upload)`;
  timing += ` · ${answer.found} found`;
  $("timing").textContent = timing;
  const link = new URL(urlOf(state), location.href).href;
  $("share").href = link;
  $("share").textContent = link;

  const grid = $("results");
  grid.replaceChildren(...answer.hits.map((hit) => hitCard(hit, state)));
  if (!answer.hits.length) {
    const none = document.createElement("p");
    none.className = "none";
    none.textContent = answer.found ? "No more images: this page is past the last one." : "No image matches.";
    grid.append(none);
  }
  grid.dataset.queryCode = query.code;
  grid.dataset.page = answer.page;

  $("pager").hidden = answer.pages < 2 && answer.page === 1;
  $("page-info").textContent = `page ${answer.page} of ${answer.pages}`;
  setPageLink($("prev"), state, answer.page > 1 ? answer.page - 1 : null);
  setPageLink($("next"), state, answer.page < answer.pages ? answer.page + 1 : null);

  $("console-box").hidden = false;
  $("console").textContent = answer.console;
  $("copy-status").textContent = "";
  document.body.dataset.state = "ready";
}

function setImage(image, url) {
  image.hidden = !url;
  if (url) image.src = url;
  else image.removeAttribute("src");
}

function hitCard(hit, state) {
  const next = { ...state, id: hit.id, page: 1 };
  delete next.code;
  const card = document.createElement("a");
  card.className = "hit";
  card.href = urlOf(next);
  card.dataset.id = hit.id;
  card.dataset.rank = hit.rank;
  card.dataset.distance = hit.distance;
  card.title = `search by ${hit.path || hit.id}`;
  if (hit.image_url) {
    const image = document.createElement("img");
    image.src = hit.image_url;
    image.alt = hit.path || hit.id;
    image.loading = "lazy";
    card.append(image);
  } else {
    const missing = document.createElement("div");
    missing.className = "missing";
    missing.textContent = "not in the served folders";
    card.append(missing);
  }
  const caption = document.createElement("span");
  caption.className = "caption";
  const distance = document.createElement("b");
  distance.className = "distance";
  distance.textContent = `${hit.distance}`;
  const rank = document.createElement("span");
  rank.className = "rank";
  rank.textContent = `#${hit.rank}`;
  const path = document.createElement("span");
  path.className = "path";
  path.textContent = hit.path || hit.id;
  caption.append(rank, " distance ", distance, path);
  card.append(caption);
  card.addEventListener("click", (event) => navigate(event, next));
  return card;
}

function setPageLink(link, state, page) {
  link.classList.toggle("off", page === null);
  if (page === null) {
    link.removeAttribute("href");
    return;
  }
  const next = { ...state, page };
  link.href = urlOf(next);
  link.onclick = (event) => navigate(event, next);
}

function navigate(event, state) {
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  history.pushState(null, "", urlOf(state));
  search(state);
  window.scrollTo({ top: 0 });
}

async function copyConsole() {
  const text = $("console").textContent;
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch (e) {
    // No clipboard permission (an insecure origin, or a browser that asks): the old way.
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    copied = document.execCommand("copy");
    area.remove();
  }
  $("copy-status").textContent = copied ? "copied" : "select the text and copy it";
}

async function loadInfo() {
  try {
    info = await answerOf(await fetch("/api/info"));
    $("index-info").textContent =
      `index '${info.index}': ${info.images} images · uploads up to ${Math.round(info.max_upload_bytes / 1048576)} MB`;
    $("k").max = info.max_k;
  } catch (error) {
    showError(error.message);
  }
}

function setUp() {
  const drop = $("drop");
  $("file").addEventListener("change", () => upload($("file").files[0]));
  for (const kind of ["dragenter", "dragover"]) {
    drop.addEventListener(kind, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    upload(event.dataTransfer.files[0]);
  });
  $("options").addEventListener("submit", (event) => {
    event.preventDefault();
    const state = optionsFromForm(stateFromUrl());
    history.pushState(null, "", urlOf(state));
    search(state);
  });
  $("copy").addEventListener("click", copyConsole);
  window.addEventListener("popstate", () => search(stateFromUrl()));
  loadInfo().then(() => search(stateFromUrl()));
}

setUp();
