// tunesmith studio: the compose page. Plain JS, no libraries: send the form, follow the job, show each tune.
"use strict";

const FIELDS = ["model", "num", "temperature", "top_k", "top_p", "seed", "max_length", "primer", "constrain"];
const LABELS = { abc: "ABC", midi: "MIDI", audio: "WAV" };
const $ = (selector, root = document) => root.querySelector(selector);

function readForm() {
  const body = {};
  for (const name of FIELDS) {
    const input = $("#" + name);
    if (!input) continue;
    if (input.type === "checkbox") body[name] = input.checked;
    else if (name === "model" || name === "primer") body[name] = input.value;
    else if (input.validity && input.validity.badInput) body[name] = "not a number";
    else if (input.value.trim() !== "") body[name] = Number(input.value);
  }
  return body;
}

function clearErrors() {
  for (const el of document.querySelectorAll(".field-error, .form-error")) el.textContent = "";
  for (const el of document.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function showErrors(fields) {
  for (const [name, message] of Object.entries(fields || {})) {
    const slot = $("#error-" + name);
    const input = $("#" + name);
    if (input) input.setAttribute("aria-invalid", "true");
    (slot || $("#form-error")).textContent = message;
  }
}

async function post(url, body) {
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

// Turn a refusal (422, 503, 404…) into words on the page; true when the request was accepted.
async function accepted(response) {
  if (response.ok) return true;
  let data = {};
  try { data = await response.json(); } catch (e) { /* not JSON: say the status */ }
  if (response.status === 422) showErrors(data.fields);
  else if (response.status === 503) {
    const wait = response.headers.get("Retry-After") || "a few";
    $("#form-error").textContent = `The studio is busy with other tunes: try again in ${wait} s.`;
  } else $("#form-error").textContent = data.detail || `The studio answered ${response.status}.`;
  return false;
}

function progress(job) {
  const box = $("#progress");
  box.hidden = false;
  const bar = $("#progress-bar");
  bar.max = job.total;
  bar.value = job.done;
  let text = job.stage;
  if (job.state === "queued") text = job.position ? `waiting: ${job.position} ahead` : "waiting for the model";
  if (job.state === "done") text = `done: ${job.done} of ${job.total} tunes (seed ${job.seed})`;
  if (job.state === "failed") text = "stopped";
  if (job.state === "running") text = `${job.stage} (${job.done} of ${job.total} ready)`;
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

function card(result) {
  const node = $("#card-template").content.firstElementChild.cloneNode(true);
  node.dataset.id = result.id;
  $(".title", node).textContent = result.title;
  const badge = $(".badge", node);
  if (result.valid === null || result.valid === undefined) badge.remove();
  else {
    badge.textContent = result.valid ? "valid" : "not valid";
    badge.classList.add(result.valid ? "ok" : "bad");
  }
  for (const fact of result.facts) {
    const li = document.createElement("li");
    li.textContent = `${fact.label} ${fact.value}`;
    $(".facts", node).append(li);
  }
  const scores = result.files.filter((f) => f.kind === "score" || f.kind === "image");
  scores.forEach((file, i) => {
    const img = document.createElement("img");
    img.className = "score";
    img.src = file.url;
    img.alt = `Score of ${result.title}` + (scores.length > 1 ? `, page ${i + 1}` : "");
    $(".scores", node).append(img);
  });
  const audio = result.files.find((f) => f.kind === "audio");
  if (audio) $(".player", node).src = audio.url;
  else $(".player", node).remove();
  for (const check of result.checks) {
    const li = document.createElement("li");
    li.className = check.ok ? "ok" : "bad";
    li.textContent = (check.ok ? "✓ " : "✗ ") + check.label;
    li.title = check.detail;
    $(".checks", node).append(li);
  }
  if (result.text) $(".abc pre", node).textContent = result.text;
  else $(".abc", node).remove();
  for (const problem of result.problems) {
    const li = document.createElement("li");
    li.textContent = problem;
    $(".problems", node).append(li);
  }
  for (const file of result.files) {
    if (!(file.kind in LABELS)) continue;
    const a = document.createElement("a");
    a.href = file.url + "?download=1";
    a.download = file.name;
    a.className = "download " + file.kind;
    a.textContent = LABELS[file.kind];
    $(".downloads", node).append(a);
  }
  const keep = $(".keep", node);
  const showKept = (kept) => {
    node.dataset.kept = kept ? "yes" : "no";
    keep.textContent = kept ? "Kept ✓" : "Keep";
    keep.setAttribute("aria-pressed", kept ? "true" : "false");
  };
  showKept(result.kept);
  keep.addEventListener("click", async () => {
    const response = await post(`/api/results/${result.id}/keep`, { kept: node.dataset.kept !== "yes" });
    if (!(await accepted(response))) return;
    const record = await response.json();
    for (const twin of document.querySelectorAll(`.card[data-id="${record.id}"]`)) twin.dataset.kept = record.kept ? "yes" : "no";
    showKept(record.kept);
    loadKept();
  });
  $(".reroll", node).addEventListener("click", async () => {
    clearErrors();
    const response = await post(`/api/results/${result.id}/reroll`, {});
    if (!(await accepted(response))) return;
    node.classList.add("busy");
    const inResults = node.parentElement && node.parentElement.id === "results";
    await follow(await response.json(), (fresh) => {
      if (inResults) node.replaceWith(card(fresh));
      else $("#results").prepend(card(fresh));
      $("#results-empty").hidden = true;
    });
    node.classList.remove("busy");
  });
  return node;
}

async function loadKept() {
  const response = await fetch("/api/results?kept=true");
  if (!response.ok) return;
  const records = await response.json();
  $("#kept").replaceChildren(...records.map(card));
  $("#kept-empty").hidden = records.length > 0;
}

// Constrain is on by default and only for ABC models: a MIDI or audio model gets the box off and greyed out,
// and choosing an ABC model again gives back what the person had chosen.
let constrainWanted = true;
function fitConstrain() {
  const option = $("#model").selectedOptions[0];
  const box = $("#constrain");
  const abc = !option || option.dataset.abc !== "no";
  box.disabled = !abc;
  box.checked = abc && constrainWanted;
}

document.addEventListener("DOMContentLoaded", () => {
  $("#constrain").addEventListener("change", () => { constrainWanted = $("#constrain").checked; });
  $("#model").addEventListener("change", fitConstrain);
  fitConstrain();
  $("#compose").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const response = await post("/api/generate", readForm());
    if (!(await accepted(response))) return;
    $("#results").replaceChildren();
    $("#results-empty").hidden = true;
    await follow(await response.json(), (result) => $("#results").append(card(result)));
  });
  loadKept();
});
