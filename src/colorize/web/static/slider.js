// The before/after slider: a transparent range input over both images drives one CSS variable, so mouse, touch
// and keyboard all work without any pointer-event code.

export function setupSlider(container, range) {
  const apply = () => container.style.setProperty("--pos", `${range.value}%`);
  range.addEventListener("input", apply);
  apply();
  return {
    reset(value = 50) {
      range.value = String(value);
      apply();
    },
  };
}
