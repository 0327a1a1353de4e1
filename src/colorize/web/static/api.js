// Talking to the JSON API: every failure becomes an ApiError whose message can be shown as it is. State-changing
// requests carry this browser's CSRF token (the colorize_csrf cookie) in X-CSRF-Token, as the server requires.

export class ApiError extends Error {}

function csrfHeaders() {
  const match = document.cookie.match(/(?:^|;\s*)colorize_csrf=([0-9a-f]+)/);
  return match ? { "X-CSRF-Token": match[1] } : {};
}

function messageFor(status, body, retryAfter) {
  let detail = body && typeof body === "object" ? body.detail : null;
  if (Array.isArray(detail)) detail = detail.map((d) => d.msg || String(d)).join("; ");
  const wait = retryAfter ? ` in ${retryAfter} s` : " in a moment";
  if (status === 503) return `The server is busy right now. Please try again${wait}.`;
  if (status === 429) return `That was a lot at once. Please try again${wait}.`;
  if (status === 403) return "This page is out of date. Please reload it and try again.";
  if (detail) return capitalize(String(detail));
  if (status === 413) return "The file is too large.";
  return `The server answered with an error (HTTP ${status}).`;
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
}

async function request(method, url, body) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        ...(method === "GET" ? {} : csrfHeaders()),
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("The server could not be reached. Check your connection and try again.");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(messageFor(response.status, data, response.headers.get("Retry-After")));
  return data;
}

export const getJSON = (url) => request("GET", url);
export const postJSON = (url, body) => request("POST", url, body ?? {});
export const deleteResource = (url) => request("DELETE", url);

/** Upload a photo with progress: onProgress("upload", fraction) while sending, then onProgress("colorize"). */
export function uploadPhoto(file, model, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/results");
    for (const [name, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(name, value);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress("upload", event.loaded / event.total);
    });
    xhr.upload.addEventListener("load", () => onProgress("colorize"));
    xhr.addEventListener("load", () => {
      if (xhr.status === 201) resolve(xhr.response);
      else reject(new ApiError(messageFor(xhr.status, xhr.response, xhr.getResponseHeader("Retry-After"))));
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError("The upload failed: the server could not be reached or closed the connection.")));
    const form = new FormData();
    form.append("file", file);
    if (model) form.append("model", model);
    xhr.send(form);
  });
}
