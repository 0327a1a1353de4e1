// The leaderboard tab: blind-comparison strengths (automatic colorizations only) and star ratings per model, with
// the ratings of results guided by colour hints in a column of their own.

import { $, el } from "./dom.js";

function voteRow(m) {
  return el("tr", {},
    el("td", {}, String(m.rank)), el("td", { title: `weights ${m.model_hash}` }, m.model),
    el("td", {}, m.score.toFixed(0)),
    el("td", {}, m.votes ? `${m.ci_low.toFixed(0)}–${m.ci_high.toFixed(0)}` : "–"),
    el("td", {}, `${m.wins}–${m.losses}–${m.ties}`), el("td", {}, String(m.votes)));
}

function starSpread(ratings) {
  const counts = [1, 2, 3, 4, 5].map((s) => ratings.histogram?.[String(s)] ?? 0);
  const most = Math.max(1, ...counts);
  return el("span", { class: "spark", "aria-label": `ratings per star: ${counts.join(", ")}` },
    ...counts.map((c) => {
      const bar = el("span");
      bar.style.height = `${Math.max(4, (c / most) * 100)}%`;
      return bar;
    }));
}

function ratingRow(m) {
  const r = m.ratings || {};
  const guided = m.guided_ratings || {};
  const label = m.name + (m.default ? " (default)" : "") + (m.served ? "" : " (retired)");
  return el("tr", {}, el("td", { title: `weights ${m.model_hash}` }, label),
    el("td", {}, r.mean != null ? `${r.mean.toFixed(2)} ★` : "–"), el("td", {}, String(r.count || 0)),
    el("td", {}, starSpread(r)),
    el("td", {}, guided.count ? `${guided.mean.toFixed(2)} ★ (${guided.count})` : "–"));
}

/** Fill the tab from /api/leaderboard and /api/models; the votes table only where pairs are (or were) possible. */
export function showLeaderboard(board, models, { offerVotes }) {
  $("board-votes-card").hidden = !offerVotes && board.total_votes === 0;
  $("board-total").textContent = String(board.total_votes);
  $("board-votes").replaceChildren(...board.models.map(voteRow));
  $("board-ratings").replaceChildren(...models.map(ratingRow));
}
