// The colour-hint editor: on the shown result, tap or click where a colour is wrong to place a hint, pick its colour
// (the picker starts at the colour the result has there), drag a hint to move it, remove it, undo (button or
// Ctrl/Cmd-Z); the photo is coloured again with the hints shortly after each change, or at once with the button.
// Pointer events, so mouse, pen and touch behave alike; hint markers are buttons, so a keyboard can select one,
// move it with the arrow keys and remove it with Delete.
//
// Positions sent to the server are pixels of the photo as displayed (the result's width x height), never CSS
// pixels: the layer over the image converts with the same "contain" fit the image is shown with.

import { postJSON } from "./api.js";

// After the last change, wait this long before colouring again: a drag or a run of colour picks makes one request.
const DEBOUNCE_MS = 500;
const MAX_UNDO = 100;
const DEFAULT_RADIUS = 2;

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));
const hex2 = (n) => n.toString(16).padStart(2, "0");

/** The rectangle the photo occupies inside `box` (an element showing it with object-fit: contain). */
function contentRect(box, width, height) {
  const rect = box.getBoundingClientRect();
  const scale = Math.min(rect.width / width, rect.height / height);
  return { left: (rect.width - width * scale) / 2, top: (rect.height - height * scale) / 2, scale, rect };
}

/** Reads colours of a loaded <img> through a canvas (same-origin images only), redrawn when its src changes. */
function pixelReader(img) {
  let drawnSrc = null;
  let context = null;
  return (u, v) => {
    if (!img.naturalWidth) return "#808080";
    if (drawnSrc !== img.currentSrc) {
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(img, 0, 0);
      drawnSrc = img.currentSrc;
    }
    const x = clamp(Math.floor(u * img.naturalWidth), 0, img.naturalWidth - 1);
    const y = clamp(Math.floor(v * img.naturalHeight), 0, img.naturalHeight - 1);
    const [r, g, b] = context.getImageData(x, y, 1, 1).data;
    return `#${hex2(r)}${hex2(g)}${hex2(b)}`;
  };
}

export function setupHintEditor(ui, { onResult, onError }) {
  const editor = {
    result: null, hints: [], selected: -1, undo: [], active: false, editable: false,
    timer: null, generation: 0, colourSnapshot: false,
  };
  const readPixel = pixelReader(ui.image);

  // --- geometry ----------------------------------------------------------------------------------------------
  /** The photo pixel under the pointer: whole pixels, kept on the photo (the server refuses a hint off it);
   * with `strict`, null when the pointer is off the photo (on the margin of a very wide or tall one). */
  function toPhoto(event, strict = false) {
    const { width, height } = editor.result;
    const { left, top, scale, rect } = contentRect(ui.layer, width, height);
    const x = Math.floor((event.clientX - rect.left - left) / scale);
    const y = Math.floor((event.clientY - rect.top - top) / scale);
    if (strict && (x < 0 || y < 0 || x >= width || y >= height)) return null;
    return { x: clamp(x, 0, width - 1), y: clamp(y, 0, height - 1) };
  }

  function render() {
    if (!editor.result) return;
    const { width, height } = editor.result;
    const { left, top, scale } = contentRect(ui.layer, width, height);
    // Markers are kept, not rebuilt, so the one with keyboard focus keeps it while it moves.
    while (ui.layer.children.length > editor.hints.length) ui.layer.lastElementChild.remove();
    while (ui.layer.children.length < editor.hints.length) {
      const marker = document.createElement("button");
      marker.type = "button";
      marker.className = "hint-marker";
      marker.dataset.index = String(ui.layer.children.length);
      ui.layer.append(marker);
    }
    editor.hints.forEach((hint, index) => {
      const marker = ui.layer.children[index];
      marker.style.left = `${left + (hint.x + 0.5) * scale}px`;
      marker.style.top = `${top + (hint.y + 0.5) * scale}px`;
      marker.style.setProperty("--hint-color", hint.color);
      marker.setAttribute("aria-label", `Hint ${index + 1} at ${hint.x}, ${hint.y}: ${hint.color}`);
      marker.setAttribute("aria-pressed", String(index === editor.selected));
    });
    const current = editor.hints[editor.selected];
    ui.color.disabled = !current;
    if (current) ui.color.value = current.color;
    ui.remove.disabled = !current;
    ui.undo.disabled = editor.undo.length === 0;
    ui.toggle.textContent = editor.active ? "Done with hints"
      : editor.hints.length ? `Edit colour hints (${editor.hints.length})` : "Fix colours with hints";
  }

  // --- edits -------------------------------------------------------------------------------------------------
  function snapshot() {
    editor.undo.push(JSON.stringify(editor.hints));
    if (editor.undo.length > MAX_UNDO) editor.undo.shift();
  }

  function select(index) {
    editor.selected = index;
    editor.colourSnapshot = false;
    render();
  }

  function addHint(point) {
    snapshot();
    const { width, height } = editor.result;
    const color = readPixel((point.x + 0.5) / width, (point.y + 0.5) / height);
    editor.hints.push({ x: point.x, y: point.y, color, radius: DEFAULT_RADIUS });
    say("Pick the colour this place should have, or drag the dot to move it.");
    select(editor.hints.length - 1);
  }

  function removeSelected() {
    if (!editor.hints[editor.selected]) return;
    snapshot();
    editor.hints.splice(editor.selected, 1);
    select(Math.min(editor.selected, editor.hints.length - 1));
    schedule();
  }

  function undo() {
    if (!editor.undo.length) return;
    editor.hints = JSON.parse(editor.undo.pop());
    select(Math.min(editor.selected, editor.hints.length - 1));
    schedule();
  }

  function moveSelected(dx, dy) {
    const hint = editor.hints[editor.selected];
    if (!hint) return;
    snapshot();
    hint.x = clamp(hint.x + dx, 0, editor.result.width - 1);
    hint.y = clamp(hint.y + dy, 0, editor.result.height - 1);
    render();
    schedule();
  }

  // --- colouring again ---------------------------------------------------------------------------------------
  function say(text) {
    ui.status.textContent = text;
  }

  function schedule() {
    clearTimeout(editor.timer);
    editor.timer = setTimeout(recolorize, DEBOUNCE_MS);
  }

  async function recolorize() {
    clearTimeout(editor.timer);
    editor.timer = null;
    if (!editor.result) return;
    const generation = ++editor.generation;
    const hints = editor.hints.map((h) => ({ ...h }));
    ui.recolorize.disabled = true;
    say("Colouring again…");
    try {
      const result = await postJSON(`/api/results/${editor.result.id}/recolorize`, { hints });
      if (generation !== editor.generation) return; // a newer edit already asked again
      editor.result = result;
      await onResult(result);
      say(hints.length ? `Coloured with ${hints.length} hint${hints.length === 1 ? "" : "s"}.` : "Automatic colours.");
    } catch (err) {
      if (generation === editor.generation) {
        say("");
        onError(err);
      }
    } finally {
      if (generation === editor.generation) ui.recolorize.disabled = false;
    }
  }

  // --- pointer and keyboard ----------------------------------------------------------------------------------
  let drag = null;

  ui.layer.addEventListener("pointerdown", (event) => {
    if (!editor.active || event.button > 0) return;
    event.preventDefault();
    const marker = event.target.closest(".hint-marker");
    if (marker) {
      select(Number(marker.dataset.index));
      snapshot();
      drag = { pointer: event.pointerId, moved: false, added: false };
    } else {
      const point = toPhoto(event, true);
      if (!point) return;
      addHint(point);
      drag = { pointer: event.pointerId, moved: false, added: true };
    }
    ui.layer.setPointerCapture(event.pointerId);
  });
  ui.layer.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.pointer) return;
    const hint = editor.hints[editor.selected];
    const point = toPhoto(event);
    if (hint && (point.x !== hint.x || point.y !== hint.y)) {
      Object.assign(hint, point);
      drag.moved = true;
      render();
    }
  });
  const endDrag = (event) => {
    if (!drag || event.pointerId !== drag.pointer) return;
    // A tap on a marker that moved nothing leaves no undo step behind.
    if (!drag.moved && !drag.added) editor.undo.pop();
    if (drag.moved) schedule();
    drag = null;
    render();
  };
  ui.layer.addEventListener("pointerup", endDrag);
  ui.layer.addEventListener("pointercancel", endDrag);
  ui.layer.addEventListener("focusin", (event) => {
    const marker = event.target.closest(".hint-marker");
    if (marker && Number(marker.dataset.index) !== editor.selected) select(Number(marker.dataset.index));
  });
  ui.layer.addEventListener("keydown", (event) => {
    if (!event.target.closest(".hint-marker")) return;
    const step = event.shiftKey ? 10 : 1;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      event.preventDefault();
      moveSelected(...moves[event.key]);
    } else if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      removeSelected();
    }
  });
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest?.("textarea, input[type=text]");
    if (editor.active && !typing && (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      undo();
    }
  });

  ui.color.addEventListener("input", () => {
    const hint = editor.hints[editor.selected];
    if (!hint) return;
    // One undo step per colour choice, however many values the picker reports on the way.
    if (!editor.colourSnapshot) snapshot();
    editor.colourSnapshot = true;
    hint.color = ui.color.value;
    render();
  });
  ui.color.addEventListener("change", () => {
    editor.colourSnapshot = false;
    schedule();
  });
  ui.remove.addEventListener("click", removeSelected);
  ui.undo.addEventListener("click", undo);
  ui.add.addEventListener("click", () => {
    const { width, height } = editor.result;
    addHint({ x: Math.floor(width / 2), y: Math.floor(height / 2) });
    ui.layer.querySelector(`[data-index="${editor.selected}"]`)?.focus();
  });
  ui.recolorize.addEventListener("click", recolorize);
  ui.toggle.addEventListener("click", () => setActive(!editor.active));
  new ResizeObserver(render).observe(ui.layer);

  function setActive(active) {
    editor.active = active && editor.editable;
    ui.compare.classList.toggle("hinting", editor.active);
    ui.layer.hidden = !editor.active;
    ui.tools.hidden = !editor.active;
    ui.toggle.setAttribute("aria-expanded", String(editor.active));
    // Leaving the editor right after a change still sends it.
    if (!editor.active && editor.timer) recolorize();
    render();
  }

  return {
    /** A result is shown: its hints become the editor's; `editable` is false for a shared (read-only) one. */
    show(result, { editable, takesHints }) {
      editor.generation += 1; // any answer still on its way is for the previous photo
      clearTimeout(editor.timer);
      editor.timer = null;
      ui.recolorize.disabled = false;
      editor.result = result;
      editor.hints = (result.hints || []).map((h) => ({ ...h }));
      editor.undo = [];
      editor.selected = -1;
      editor.editable = editable && takesHints;
      ui.toggle.hidden = !editor.editable;
      say("");
      setActive(false);
    },
  };
}
