"""The leaderboard: Bradley-Terry strengths fitted to blind pairwise votes.

Bradley-Terry says model i beats model j with probability p_i / (p_i + p_j). The maximum-likelihood strengths are
found with Hunter's (2004) minorize-maximize iteration. A tie counts as half a win for each side. With few votes
the plain MLE is extreme (a model that never lost would have infinite strength), so every model also plays
`prior_games` virtual games against a fixed reference of strength 1, half won and half lost: this pulls sparse
models towards the middle and vanishes as real votes accumulate. Scores are printed on the familiar Elo scale:
1000 + 400 * log10(p), so 400 points apart means 10:1 odds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

import numpy as np

BASE_SCORE = 1000.0
ELO_SCALE = 400.0


@dataclass
class ModelScore:
    rank: int
    model: str
    score: float
    wins: int
    losses: int
    ties: int

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


def leaderboard(models: Iterable[str], outcomes: Iterable[tuple[str, str, str]], prior_games: float = 1.0
                ) -> list[ModelScore]:
    """Rank `models` from votes `(left_model, right_model, winner)` with winner "left", "right" or "tie".

    Models with no votes are listed too (at the reference score). Votes naming a model not in `models` add it.
    """
    names = list(dict.fromkeys(models))
    outcomes = list(outcomes)
    for left, right, _ in outcomes:
        for name in (left, right):
            if name not in names:
                names.append(name)
    index = {name: i for i, name in enumerate(names)}
    n = len(names)
    wins = np.zeros((n, n))
    record = {name: [0, 0, 0] for name in names}  # wins, losses, ties
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
    order = sorted(range(n), key=lambda k: (-round(float(scores[k]), 6), -sum(record[names[k]]), names[k]))
    return [
        ModelScore(rank=rank, model=names[k], score=round(float(scores[k]), 1), wins=record[names[k]][0],
                   losses=record[names[k]][1], ties=record[names[k]][2])
        for rank, k in enumerate(order, start=1)
    ]
