// Small DOM helpers shared by the page's modules.

export const $ = (id) => document.getElementById(id);

/** An element with attributes ("class", "dataset" or any attribute) and children (nodes or text, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}
