"""The leaderboard: Bradley-Terry strengths fitted to blind pairwise votes.

Bradley-Terry says model i beats model j with probability p_i / (p_i + p_j). The maximum-likelihood strengths are
found with Hunter's (2004) minorize-maximize iteration. A tie counts as half a win for each side. With few votes
the plain MLE is extreme (a model that never lost would have infinite strength), so every model also plays
`prior_games` virtual games against a fixed reference of strength 1, half won and half lost: this pulls sparse
models towards the middle and vanishes as real votes accumulate. Scores are printed on the familiar Elo scale:
1000 + 400 * log10(p), so 400 points apart means 10:1 odds.

Each score comes with a 95 % confidence interval from the curvature of the log-likelihood at the fit (the observed
Fisher information, a normal approximation on the log-strength scale) for the model's standing relative to the
others: cheap at any number of votes, wide when a model has few. Models are identified by their
weights hash; `names` maps a hash to the name shown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

import numpy as np

BASE_SCORE = 1000.0
ELO_SCALE = 400.0


#: Two-sided 95 % normal quantile.
Z_95 = 1.959964


@dataclass
class ModelScore:
    rank: int
    model: str
    score: float
    wins: int
    losses: int
    ties: int
    model_hash: str = ""
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.ties

    def as_dict(self) -> dict:
        return {**asdict(self), "votes": self.votes}


def fit_strengths(wins: np.ndarray, prior_games: float = 1.0, max_iter: int = 10_000, tol: float = 1e-10) -> np.ndarray:
    """Bradley-Terry strengths from `wins[i, j]` (i's wins over j, ties as 0.5 each way); geometric mean 1 when
    there is no prior, otherwise relative to the reference player of strength 1."""
    wins = np.asarray(wins, dtype=np.float64)
    n = wins.shape[0]
    if wins.shape != (n, n):
        raise ValueError(f"wins must be a square matrix, got shape {wins.shape}")
    if n == 0:
        return np.zeros(0)
    games = wins + wins.T
    np.fill_diagonal(games, 0.0)
    total_wins = wins.sum(axis=1) - np.diag(wins) + prior_games / 2
    strengths = np.ones(n)
    played = games.sum(axis=1) + prior_games > 0
    for _ in range(max_iter):
        pair_sum = strengths[:, None] + strengths[None, :]
        denom = (games / pair_sum).sum(axis=1) + prior_games / (strengths + 1.0)
        updated = np.where(played & (denom > 0), total_wins / np.where(denom > 0, denom, 1.0), strengths)
        updated = np.maximum(updated, 1e-12)
        if prior_games == 0:
            # Without the reference player the scale is free: pin the geometric mean of players with games.
            updated = updated / np.exp(np.mean(np.log(updated[played]))) if played.any() else updated
        converged = np.max(np.abs(np.log(updated) - np.log(strengths))) < tol
        strengths = updated
        if converged:
            break
    return strengths


def score_intervals(wins: np.ndarray, strengths: np.ndarray, prior_games: float) -> np.ndarray:
    """(n, 2) 95 % intervals of the Elo-scale scores: +-1.96 standard errors of log-strength, from the inverse of
    the observed information (the negated Hessian of the log-likelihood, reference games included)."""
    n = len(strengths)
    games = wins + wins.T
    np.fill_diagonal(games, 0.0)
    p_beats = strengths[:, None] / (strengths[:, None] + strengths[None, :])
    pair_information = games * p_beats * (1.0 - p_beats)
    p_reference = strengths / (strengths + 1.0)
    information = -pair_information
    np.fill_diagonal(information, pair_information.sum(axis=1) + prior_games * p_reference * (1.0 - p_reference))
    covariance = np.linalg.pinv(information)  # pinv: without reference games the matrix is singular
    # What votes measure is how models stand against each other; the common level is pinned only by the virtual
    # reference games, so the intervals are for each model relative to the field (log-strengths centred).
    centre = np.eye(n) - 1.0 / n
    standard_errors = np.sqrt(np.clip(np.diag(centre @ covariance @ centre), 0.0, None))
    scores = BASE_SCORE + ELO_SCALE * np.log10(strengths)
    half_width = Z_95 * standard_errors * ELO_SCALE / np.log(10.0)
    return np.stack([scores - half_width, scores + half_width], axis=1)


def leaderboard(models: Iterable[str], outcomes: Iterable[tuple[str, str, str]], prior_games: float = 1.0,
                names: dict[str, str] | None = None) -> list[ModelScore]:
    """Rank `models` (weights hashes) from votes `(left, right, winner)` with winner "left", "right" or "tie".

    Models with no votes are listed too (at the reference score). Votes naming a model not in `models` add it.
    `names` gives the name shown for a hash (default: the hash itself).
    """
    names = names or {}
    hashes = list(dict.fromkeys(models))
    outcomes = list(outcomes)
    for left, right, _ in outcomes:
        for model in (left, right):
            if model not in hashes:
                hashes.append(model)
    index = {model: i for i, model in enumerate(hashes)}
    n = len(hashes)
    wins = np.zeros((n, n))
    record = {name: [0, 0, 0] for name in hashes}  # wins, losses, ties
    for left, right, winner in outcomes:
        if left == right:
            continue
        i, j = index[left], index[right]
        if winner == "left":
            wins[i, j] += 1
            record[left][0] += 1
            record[right][1] += 1
        elif winner == "right":
            wins[j, i] += 1
            record[right][0] += 1
            record[left][1] += 1
        elif winner == "tie":
            wins[i, j] += 0.5
            wins[j, i] += 0.5
            record[left][2] += 1
            record[right][2] += 1
        else:
            raise ValueError(f"unknown winner {winner!r} (expected left, right or tie)")
    strengths = fit_strengths(wins, prior_games=prior_games)
    scores = BASE_SCORE + ELO_SCALE * np.log10(strengths) if n else np.zeros(0)
    intervals = score_intervals(wins, strengths, prior_games) if n else np.zeros((0, 2))
    order = sorted(range(n), key=lambda k: (-round(float(scores[k]), 6), -sum(record[hashes[k]]), hashes[k]))
    return [
        ModelScore(rank=rank, model=names.get(hashes[k], hashes[k]), score=round(float(scores[k]), 1),
                   wins=record[hashes[k]][0], losses=record[hashes[k]][1], ties=record[hashes[k]][2],
                   model_hash=hashes[k], ci_low=round(float(intervals[k][0]), 1),
                   ci_high=round(float(intervals[k][1]), 1))
        for rank, k in enumerate(order, start=1)
    ]
