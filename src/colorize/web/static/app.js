// The page: upload -> progress -> before/after slider -> colour hints, download and rate; history; blind pairs;
// leaderboard.
// Everything a user or the server wrote (file names, comments, model names) is inserted as text, never as HTML.

import { ApiError, deleteResource, getJSON, postJSON, uploadPhoto } from "./api.js";
import { $, el } from "./dom.js";
import { setupHintEditor } from "./hints.js";
import { showLeaderboard } from "./leaderboard.js";
import { setupSlider } from "./slider.js";

const state = { models: [], hintModels: new Set(), maxUploadMb: 20, current: null, pair: null, shared: false };
// The before/after box keeps the photo's shape within these bounds; object-fit shows any stranger photo inside it.
const MAX_BOX_RATIO = 4;

const starText = (n) => "★".repeat(n) + "☆".repeat(5 - n);

// --- errors ----------------------------------------------------------------------------------------------------
function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
  $("error").scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function hideError() {
  $("error").hidden = true;
}

function errorText(err) {
  return err instanceof ApiError ? err.message : `Something went wrong: ${err.message || err}`;
}

// --- tabs ------------------------------------------------------------------------------------------------------
const TABS = ["colorize", "history", "compare", "leaderboard"];
const onShow = { history: loadHistory, leaderboard: loadLeaderboard };

function showTab(name) {
  for (const tab of TABS) {
    const selected = tab === name;
    $(`tab-${tab}`).setAttribute("aria-selected", String(selected));
    $(`panel-${tab}`).hidden = !selected;
  }
  onShow[name]?.();
}

// --- upload ----------------------------------------------------------------------------------------------------
function setProgress(label, fraction) {
  $("progress").hidden = false;
  $("progress-label").textContent = label;
  const fill = $("progress-fill");
  if (fraction === undefined) {
    fill.classList.add("indeterminate");
    fill.style.width = "";
    $("progress-pct").textContent = "";
  } else {
    fill.classList.remove("indeterminate");
    fill.style.width = `${Math.round(fraction * 100)}%`;
    $("progress-pct").textContent = `${Math.round(fraction * 100)}%`;
  }
}

async function handleFile(file) {
  hideError();
  if (!file) return;
  if (file.size === 0) return showError(`"${file.name}" is empty (0 bytes).`);
  if (file.size > state.maxUploadMb * 1024 * 1024) {
    const mb = (file.size / 1024 / 1024).toFixed(1);
    return showError(`"${file.name}" is ${mb} MB; the limit is ${state.maxUploadMb} MB.`);
  }
  $("result").hidden = true;
  $("upload-form").classList.add("busy");
  setProgress("Uploading…", 0);
  try {
    const model = state.models.length > 1 ? $("model-select").value : null;
    const result = await uploadPhoto(file, model, (phase, fraction) => {
      if (phase === "upload") setProgress("Uploading…", fraction);
      else setProgress("Colorizing… this takes a few seconds");
    });
    // Before the result scrolls into view: the progress card vanishing later would pull the photo's top away.
    $("progress").hidden = true;
    await showResult(result);
    history.replaceState(null, "", `#result=${result.id}`);
  } catch (err) {
    showError(errorText(err));
  } finally {
    $("progress").hidden = true;
    $("upload-form").classList.remove("busy");
    $("file-input").value = "";
  }
}

function setupDropzone() {
  const zone = $("dropzone");
  $("file-input").addEventListener("change", (e) => handleFile(e.target.files[0]));
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) zone.addEventListener(type, () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    const files = e.dataTransfer?.files;
    if (files?.length > 1) showError("Please drop one photo at a time.");
    else handleFile(files?.[0]);
  });
  // A photo dropped anywhere else on the page should not make the browser navigate away to it.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
}

// --- result ----------------------------------------------------------------------------------------------------
let slider;
let hintEditor;

function loadImage(img, src) {
  return new Promise((resolve) => {
    img.onload = img.onerror = () => resolve();
    img.src = src;
  });
}

async function showResult(result, { shared = false } = {}) {
  state.current = result;
  state.shared = shared;
  // A 39999 x 1 scan must not flatten the box to nothing (nor a 1 x 39999 one to a hair).
  const ratio = Math.min(MAX_BOX_RATIO, Math.max(1 / MAX_BOX_RATIO, result.width / result.height));
  $("compare").style.aspectRatio = String(ratio);
  $("compare").style.setProperty("--ratio", String(ratio));
  slider.reset(50);
  await Promise.all([
    loadImage($("after-img"), result.urls.image_preview),
    loadImage($("before-img"), result.urls.original_preview),
  ]);
  describeResult(result);
  // A shared result is read-only: rating, sharing, deleting and colour hints are the owner's.
  for (const id of ["rating-form", "share", "delete"]) $(id).hidden = shared;
  hintEditor.show(result, { editable: !shared, takesHints: state.hintModels.has(result.model) });
  $("result").hidden = false;
  // "start", not "nearest": for a tall (portrait) photo, "nearest" aligns the bottom and cuts off the top.
  $("result").scrollIntoView({ block: "start", behavior: "smooth" });
}

function describeResult(result) {
  $("result-name").textContent = result.filename || "Your photo";
  const when = new Date(result.created_at).toLocaleString();
  const guided = result.guided ? ` · ${hintCount(result)}` : "";
  $("result-info").textContent =
    `${result.width} × ${result.height} px · model ${result.model}${guided} · ${result.seconds.toFixed(1)} s · ${when}`;
  $("download").href = result.urls.download;
  showRating(result.rating);
  $("share-status").hidden = !result.share_url;
  if (result.share_url) $("share-link").value = new URL(result.share_url, location.href).href;
}

const hintCount = (result) => `${result.hints.length} colour hint${result.hints.length === 1 ? "" : "s"}`;

/** The hint editor made `result` from the shown one: swap the image in place (no scrolling, hints kept). */
async function refreshResult(result) {
  state.current = result;
  await loadImage($("after-img"), result.urls.image_preview);
  describeResult(result);
  history.replaceState(null, "", `#result=${result.id}`);
}

function paintStars(value) {
  for (const label of document.querySelectorAll("#stars label")) {
    const stars = Number(label.htmlFor.split("-")[1]);
    label.classList.toggle("filled", stars <= value);
  }
}

function chosenStars() {
  return Number(document.querySelector("#stars input:checked")?.value || 0);
}

function clearRatingForm() {
  for (const input of document.querySelectorAll("#stars input")) input.checked = false;
  paintStars(0);
  $("comment").value = "";
  $("rate-submit").disabled = true;
}

function showRating(rating) {
  clearRatingForm();
  $("rating-status").textContent = "";
  // Ratings are anonymous: what the page knows is everyone's, so it says so instead of pre-ticking the stars.
  if (rating?.count) {
    const times = rating.count === 1 ? "once" : `${rating.count} times`;
    $("rating-status").textContent = `Rated ${times}, ${rating.mean.toFixed(1)} of 5 on average`;
  }
}

function setupRating() {
  $("stars").addEventListener("change", () => {
    paintStars(chosenStars());
    $("rate-submit").disabled = false;
  });
  for (const label of document.querySelectorAll("#stars label")) {
    label.addEventListener("mouseenter", () => paintStars(Number(label.htmlFor.split("-")[1])));
  }
  $("stars").addEventListener("mouseleave", () => paintStars(chosenStars()));
  $("rating-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const chosen = document.querySelector("#stars input:checked");
    if (!chosen || !state.current) return;
    hideError();
    $("rate-submit").disabled = true;
    try {
      const rating = await postJSON(`/api/results/${state.current.id}/ratings`, {
        stars: Number(chosen.value),
        comment: $("comment").value,
      });
      // The form starts over, so a later star is a new rating with its own comment, not the old one again.
      clearRatingForm();
      $("rating-status").textContent = `Saved ${starText(rating.stars)} — thank you!`;
      const before = state.current.rating || { count: 0, mean: 0 };
      const count = (before.count || 0) + 1;
      state.current.rating = {
        ...before, count, mean: ((before.mean || 0) * (count - 1) + rating.stars) / count,
        last_stars: rating.stars, last_comment: rating.comment,
      };
    } catch (err) {
      showError(errorText(err));
      $("rate-submit").disabled = false;
    }
  });
}

async function openResult(id) {
  hideError();
  try {
    await showResult(await getJSON(`/api/results/${id}`));
    if (location.hash !== `#result=${id}`) history.replaceState(null, "", `#result=${id}`);
    showTab("colorize");
  } catch (err) {
    showError(errorText(err));
  }
}

async function openShared(token) {
  hideError();
  try {
    await showResult(await getJSON(`/api/shared/${token}`), { shared: true });
    showTab("colorize");
  } catch (err) {
    showError(errorText(err));
  }
}

/** The address names what to show: `#result=<id>` (one of yours) or `#shared=<token>` (a link someone sent). */
async function route() {
  const result = location.hash.match(/^#result=([0-9a-f]{32})$/);
  const shared = location.hash.match(/^#shared=([0-9a-f]{32})$/);
  if (result && result[1] !== state.current?.id) await openResult(result[1]);
  else if (shared) await openShared(shared[1]);
}

async function shareCurrent() {
  if (!state.current) return;
  hideError();
  try {
    const result = await postJSON(`/api/results/${state.current.id}/share`);
    state.current.share_url = result.share_url;
    $("share-link").value = new URL(result.share_url, location.href).href;
    $("share-status").hidden = false;
    $("share-link").select();
  } catch (err) {
    showError(errorText(err));
  }
}

async function deleteCurrent() {
  if (!state.current) return;
  if (!window.confirm("Delete this photo and its colour version from the server? This cannot be undone.")) return;
  hideError();
  try {
    await deleteResource(`/api/results/${state.current.id}`);
    state.current = null;
    $("result").hidden = true;
    history.replaceState(null, "", location.pathname);
  } catch (err) {
    showError(errorText(err));
  }
}

// --- history ---------------------------------------------------------------------------------------------------
async function loadHistory() {
  try {
    const items = await getJSON("/api/results?limit=30");
    const list = $("history");
    list.replaceChildren(...items.map(historyItem));
    $("history-empty").hidden = items.length > 0;
  } catch (err) {
    showError(errorText(err));
  }
}

function historyItem(result) {
  const stars = result.rating.last_stars;
  const rating = stars
    ? el("span", { class: "h-stars", "data-stars": String(stars), "aria-label": `Rated ${stars} of 5` }, starText(stars))
    : el("span", { class: "h-stars none" }, "not rated yet");
  const children = [
    el("img", { src: result.urls.image_preview, alt: "", loading: "lazy" }),
    el("span", { class: "h-name" }, result.filename || "photo"),
    el("span", { class: "h-meta" }, `${new Date(result.created_at).toLocaleString()} · ${result.model}`),
    rating,
  ];
  if (result.guided) children.splice(2, 0, el("span", { class: "guided-tag" }, `Guided: ${hintCount(result)}`));
  if (result.rating.last_comment) children.push(el("span", { class: "h-comment" }, `“${result.rating.last_comment}”`));
  const button = el("button", { type: "button", class: "history-open", "data-id": result.id }, ...children);
  button.addEventListener("click", () => openResult(result.id));
  return el("li", { class: "history-item" }, button);
}

// --- blind comparison ------------------------------------------------------------------------------------------
function setVoting(enabled) {
  for (const button of document.querySelectorAll(".vote")) button.disabled = !enabled;
}

async function newPair() {
  hideError();
  const button = $("pair-new");
  button.disabled = true;
  $("pair-status").textContent = "";
  const previous = button.textContent;
  button.textContent = "Colouring with two models…";
  try {
    // The server picks one of this browser's recent uploads.
    const pair = await postJSON("/api/comparisons", {});
    state.pair = pair;
    await Promise.all([loadImage($("pair-left"), pair.left), loadImage($("pair-right"), pair.right)]);
    for (const side of ["left", "right"]) $(`pair-${side}-name`).textContent = "";
    $("pair").hidden = false;
    setVoting(true);
    button.textContent = "Skip this pair";
  } catch (err) {
    showError(errorText(err));
    button.textContent = previous;
  } finally {
    button.disabled = false;
  }
}

async function vote(winner) {
  if (!state.pair) return;
  setVoting(false);
  try {
    const result = await postJSON(`/api/comparisons/${state.pair.id}/vote`, { winner });
    $("pair-left-name").textContent = result.left_model;
    $("pair-right-name").textContent = result.right_model;
    $("pair-status").textContent = "Thanks! The model names are shown under each picture.";
    $("pair-new").textContent = "Next pair";
    state.pair = null;
  } catch (err) {
    showError(errorText(err));
    setVoting(true);
  }
}

// --- leaderboard -----------------------------------------------------------------------------------------------
async function loadLeaderboard() {
  try {
    const [board, models] = await Promise.all([getJSON("/api/leaderboard"), getJSON("/api/models")]);
    showLeaderboard(board, models, { offerVotes: state.models.length >= 2 });
  } catch (err) {
    showError(errorText(err));
  }
}

// --- start -----------------------------------------------------------------------------------------------------
async function init() {
  slider = setupSlider($("compare"), $("slider"));
  hintEditor = setupHintEditor({
    compare: $("compare"), layer: $("hint-layer"), image: $("after-img"), toggle: $("hints-toggle"),
    tools: $("hint-tools"), color: $("hint-color"), add: $("hint-add"), remove: $("hint-remove"),
    undo: $("hint-undo"), recolorize: $("recolorize"), status: $("hint-status"),
  }, { onResult: refreshResult, onError: (err) => showError(errorText(err)) });
  for (const tab of TABS) $(`tab-${tab}`).addEventListener("click", () => showTab(tab));
  $("error-close").addEventListener("click", hideError);
  // The current result stays until a new photo is actually chosen: cancelling the file dialog changes nothing.
  $("again").addEventListener("click", () => $("file-input").click());
  $("share").addEventListener("click", shareCurrent);
  $("delete").addEventListener("click", deleteCurrent);
  window.addEventListener("hashchange", route);
  $("history-refresh").addEventListener("click", loadHistory);
  $("board-refresh").addEventListener("click", loadLeaderboard);
  $("pair-new").addEventListener("click", newPair);
  for (const button of document.querySelectorAll(".vote")) {
    button.addEventListener("click", () => vote(button.dataset.winner));
  }
  setupDropzone();
  setupRating();

  try {
    const [health, models] = await Promise.all([getJSON("/api/health"), getJSON("/api/models")]);
    state.hintModels = new Set(models.filter((m) => m.served && m.takes_hints).map((m) => m.name));
    state.models = health.models;
    state.maxUploadMb = health.max_upload_mb;
    $("limit-mb").textContent = String(health.max_upload_mb);
    if (state.models.length > 1) {
      $("model-select").replaceChildren(...state.models.map((name) => el("option", { value: name }, name)));
      $("model-row").hidden = false;
      $("tab-compare").hidden = false;
    }
  } catch (err) {
    showError(errorText(err));
  }
  await route();
  document.body.dataset.ready = "true";
}

init();
