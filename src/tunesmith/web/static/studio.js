// tunesmith studio: the compose page. Plain JS, no libraries: send the form, follow the job, show each tune,
// open one large to read, print, download, edit and hear again.
"use strict";

const FIELDS = ["model", "num", "temperature", "top_k", "top_p", "seed", "max_length", "primer", "constrain",
  "rhythm", "meter", "key", "tempo", "instrument"];
const TEXT_FIELDS = new Set(["model", "primer", "rhythm", "meter", "key", "instrument"]);
const LABELS = { abc: "ABC", midi: "MIDI", audio: "WAV" };
const $ = (selector, root = document) => root.querySelector(selector);
const byId = new Map(); // result id -> its latest record, so every copy of a card and the viewer agree

function readForm() {
  const body = {};
  for (const name of FIELDS) {
    const input = $("#" + name);
    if (!input || input.matches(":disabled") && input.type !== "checkbox") continue;
    if (input.type === "checkbox") body[name] = input.checked;
    else if (TEXT_FIELDS.has(name)) body[name] = input.value;
    else if (input.validity && input.validity.badInput) body[name] = "not a number";
    else if (input.value.trim() !== "") body[name] = Number(input.value);
  }
  return body;
}

function clearErrors(root = document) {
  for (const el of root.querySelectorAll(".field-error, .form-error")) el.textContent = "";
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function showErrors(fields, prefix = "") {
  for (const [name, message] of Object.entries(fields || {})) {
    const slot = $("#error-" + prefix + name);
    const input = $("#" + prefix + name);
    if (input) input.setAttribute("aria-invalid", "true");
    if (input && input.closest("details")) input.closest("details").open = true;
    (slot || $("#form-error")).textContent = message;
  }
}

async function post(url, body) {
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

// Turn a refusal (422, 503, 404…) into words on the page; true when the request was accepted.
async function accepted(response, prefix = "", fallback = "#form-error") {
  if (response.ok) return true;
  let data = {};
  try { data = await response.json(); } catch (e) { /* not JSON: say the status */ }
  if (response.status === 422 && data.fields) showErrors(data.fields, prefix);
  else if (response.status === 503) {
    const wait = response.headers.get("Retry-After") || "a few";
    $(fallback).textContent = `The studio is busy with other tunes: try again in ${wait} s.`;
  } else $(fallback).textContent = data.detail || `The studio answered ${response.status}.`;
  return false;
}

function progress(job) {
  const box = $("#progress");
  box.hidden = false;
  $("#progress-bar").max = job.total;
  $("#progress-bar").value = job.done;
  let text = `${job.stage} (${job.done} of ${job.total} ready)`;
  if (job.state === "queued") text = job.position ? `waiting: ${job.position} ahead` : "waiting for the model";
  if (job.state === "done") text = `done: ${job.done} of ${job.total} tunes (seed ${job.seed})`;
  if (job.state === "failed") text = "stopped";
  $("#progress-text").textContent = text;
  box.dataset.state = job.state;
}

// Follow a job with long polling; each finished tune goes to place(result) as soon as it exists.
async function follow(job, place) {
  $("#generate").disabled = true;
  let shown = 0;
  try {
    for (;;) {
      progress(job);
      for (; shown < job.results.length; shown++) place(job.results[shown]);
      if (job.state === "done" || job.state === "failed") break;
      const response = await fetch(`${job.url}?since=${job.version}&wait=25`);
      if (!response.ok) { await accepted(response); return; }
      job = await response.json();
    }
    if (job.state === "failed") {
      if (job.field && $("#error-" + job.field)) showErrors({ [job.field]: job.error });
      else $("#form-error").textContent = job.error;
    }
  } catch (e) {
    $("#form-error").textContent = "Lost contact with the studio: is it still running?";
  } finally {
    $("#generate").disabled = false;
  }
}

// After an edit the same file names hold new music: a version in the link keeps the browser from showing the old.
const fresh = (url, result) => (result.edits ? `${url}${url.includes("?") ? "&" : "?"}v=${result.edits}` : url);
const scoreFiles = (result) => result.files.filter((f) => f.kind === "score" || f.kind === "image");

function list(root, items, make) {
  root.replaceChildren(...items.map((item) => { const li = document.createElement("li"); make(li, item); return li; }));
}

function badge(el, result) {
  el.className = "badge";
  el.hidden = result.valid === null || result.valid === undefined;
  el.textContent = result.valid ? "valid" : "not valid";
  el.classList.add(result.valid ? "ok" : "bad");
}

function downloads(root, result, withPdf) {
  root.replaceChildren();
  const link = (href, text, cls, name) => {
    const a = document.createElement("a");
    a.href = href; a.textContent = text; a.className = "download " + cls;
    if (name) a.download = name;
    root.append(a);
  };
  if (withPdf) {
    scoreFiles(result).forEach((f, i, all) => {
      if (f.kind === "score") link(fresh(f.url + "?download=1", result), all.length > 1 ? `SVG p${i + 1}` : "SVG", "svg", f.name);
    });
    if (scoreFiles(result).some((f) => f.kind === "score")) link(fresh(`/api/results/${result.id}/pdf`, result), "PDF", "pdf", "");
  }
  for (const file of result.files) {
    if (file.kind in LABELS) link(file.url + "?download=1", LABELS[file.kind], file.kind, file.name);
  }
}

function fill(node, result) {
  node.dataset.id = result.id;
  $(".title", node).textContent = result.title;
  badge($(".badge", node), result);
  list($(".facts", node), result.facts, (li, fact) => { li.textContent = `${fact.label} ${fact.value}`; });
  const scores = $(".scores", node);
  const first = scoreFiles(result)[0];
  scores.replaceChildren();
  if (first) {
    const img = document.createElement("img");
    img.className = "score";
    img.src = fresh(first.url, result);
    img.alt = `Score of ${result.title}`;
    scores.append(img);
  }
  scores.hidden = !first;
  const audio = result.files.find((f) => f.kind === "audio");
  $(".player", node).hidden = !audio;
  if (audio) $(".player", node).src = fresh(audio.url, result);
  const wrong = (result.wrong_bars || []).length;
  list($(".checks", node), result.checks, (li, check) => {
    li.className = check.ok ? "ok" : "bad";
    li.textContent = (check.ok ? "✓ " : "✗ ") + check.label + (check.label === "bars" && wrong ? ` (${wrong} to fix)` : "");
    li.title = check.detail;
  });
  $(".abc", node).hidden = !result.text;
  $(".abc pre", node).textContent = result.text || "";
  list($(".problems", node), result.problems, (li, problem) => { li.textContent = problem; });
  downloads($(".downloads", node), result, false);
  node.dataset.kept = result.kept ? "yes" : "no";
  $(".keep", node).textContent = result.kept ? "Kept ✓" : "Keep";
  $(".keep", node).setAttribute("aria-pressed", result.kept ? "true" : "false");
}

function card(result) {
  byId.set(result.id, result);
  const node = $("#card-template").content.firstElementChild.cloneNode(true);
  fill(node, result);
  const open = () => openViewer(byId.get(node.dataset.id));
  $(".scores", node).addEventListener("click", open);
  $(".open", node).addEventListener("click", open);
  $(".keep", node).addEventListener("click", async () => {
    const response = await post(`/api/results/${node.dataset.id}/keep`, { kept: node.dataset.kept !== "yes" });
    if (!(await accepted(response))) return;
    update(await response.json());
    loadKept();
  });
  $(".reroll", node).addEventListener("click", async () => {
    clearErrors();
    const response = await post(`/api/results/${node.dataset.id}/reroll`, {});
    if (!(await accepted(response))) return;
    node.classList.add("busy");
    const inHistory = node.closest("#results") !== null;
    await follow(await response.json(), (result) => {
      const made = card(result);
      if (inHistory) node.before(made); else batch().prepend(made);
      $("#results-empty").hidden = true;
    });
    node.classList.remove("busy");
  });
  return node;
}

// Every copy of a tune (history, kept, the open viewer) shows its latest record.
function update(result) {
  byId.set(result.id, result);
  for (const node of document.querySelectorAll(`.card[data-id="${result.id}"]`)) fill(node, result);
  if ($("#viewer").open && $("#viewer").dataset.id === result.id) showInViewer(result);
}

// A new batch of tunes goes on top: the list reads newest first, and a Generate never wipes earlier tunes.
function batch() {
  const group = document.createElement("div");
  group.className = "results batch";
  $("#results").prepend(group);
  $("#clear-history").hidden = false;
  return group;
}

async function loadKept() {
  const response = await fetch("/api/results?kept=true");
  if (!response.ok) return;
  const records = await response.json();
  $("#kept").replaceChildren(...records.map(card));
  $("#kept-empty").hidden = records.length > 0;
}

function showInViewer(result) {
  const viewer = $("#viewer");
  viewer.dataset.id = result.id;
  $("#viewer-title").textContent = result.title;
  badge($("#viewer-badge"), result);
  const pages = scoreFiles(result);
  $("#viewer-pages").replaceChildren(...pages.map((file, i) => {
    const img = document.createElement("img");
    img.className = "page";
    img.src = fresh(file.url, result);
    img.alt = `Score of ${result.title}` + (pages.length > 1 ? `, page ${i + 1}` : "");
    return img;
  }));
  const wrong = result.wrong_bars || [];
  list($("#viewer-wrong"), wrong, (li, bar) => { li.textContent = bar.words[0].toUpperCase() + bar.words.slice(1); });
  if (wrong.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = result.marked ? "These bars are marked in red on the score." : "The score's bars could not be matched to these, so they are listed here only.";
    $("#viewer-wrong").append(li);
  }
  const audio = result.files.find((f) => f.kind === "audio");
  $("#viewer-player").hidden = !audio;
  if (audio) $("#viewer-player").src = fresh(audio.url, result);
  downloads($("#viewer-downloads"), result, true);
  $("#viewer-edit").hidden = !result.text;
}

function openViewer(result) {
  clearErrors($("#viewer"));
  $("#render-status").textContent = "";
  showInViewer(result);
  $("#edit-text").value = result.text || "";
  const settings = result.settings || {};
  $("#edit-tempo").value = settings.tempo || "";
  $("#edit-instrument").value = settings.instrument || "";
  if (!$("#viewer").open) $("#viewer").showModal();
}

async function renderEdit() {
  const viewer = $("#viewer");
  clearErrors(viewer);
  const body = { text: $("#edit-text").value, instrument: $("#edit-instrument").value };
  const tempo = $("#edit-tempo");
  if (tempo.validity.badInput) body.tempo = "not a number";
  else if (tempo.value.trim() !== "") body.tempo = Number(tempo.value);
  $("#render").disabled = true;
  $("#render-status").textContent = "rendering…";
  try {
    const response = await post(`/api/results/${viewer.dataset.id}/render`, body);
    if (!(await accepted(response, "edit-", "#error-edit-text"))) {
      $("#render-status").textContent = "";
      return;
    }
    const result = await response.json();
    update(result);
    const wrong = (result.wrong_bars || []).length;
    $("#render-status").textContent = result.valid ? "rendered: valid" : wrong ? `rendered: ${wrong} bar${wrong > 1 ? "s" : ""} to fix` : "rendered: see the checks";
  } finally {
    $("#render").disabled = false;
  }
}

// The menus hold the selected model's meters, keys and rhythms; a choice survives a change of model where
// the new model has it too. MIDI and audio models have no menus and no Constrain.
let constrainWanted = true;
async function fitModel() {
  const option = $("#model").selectedOptions[0];
  const abc = !option || option.dataset.abc !== "no";
  const box = $("#constrain");
  box.disabled = !abc;
  box.checked = abc && constrainWanted;
  $("#kind").disabled = !abc;
  if (!option) return;
  const response = await fetch(`/api/models/${option.value}/kinds`);
  const kinds = response.ok ? await response.json() : { abc: false, meters: [], keys: [], rhythms: [] };
  for (const [name, values] of [["rhythm", kinds.rhythms], ["meter", kinds.meters], ["key", kinds.keys]]) {
    const select = $("#" + name);
    const chosen = select.value;
    select.replaceChildren(new Option("any", ""), ...values.map((v) => new Option(v, v)));
    select.value = values.includes(chosen) ? chosen : "";
  }
  $("#kind").disabled = !kinds.abc;
  $("#kind-note").textContent = kinds.abc ? "from the model's own tunes" : "ABC models only";
  $("#kind").dataset.ready = option.value;
}

document.addEventListener("DOMContentLoaded", () => {
  $("#constrain").addEventListener("change", () => { constrainWanted = $("#constrain").checked; });
  $("#model").addEventListener("change", fitModel);
  fitModel();
  $("#compose").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors($("#compose"));
    const response = await post("/api/generate", readForm());
    if (!(await accepted(response))) return;
    const group = batch();
    $("#results-empty").hidden = true;
    await follow(await response.json(), (result) => group.append(card(result)));
  });
  $("#clear-history").addEventListener("click", () => {
    $("#results").replaceChildren();
    $("#clear-history").hidden = true;
    $("#results-empty").hidden = false;
  });
  $("#viewer-close").addEventListener("click", () => $("#viewer").close());
  $("#render").addEventListener("click", renderEdit);
  loadKept();
});
