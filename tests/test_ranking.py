"""Bradley-Terry leaderboard from blind pairwise votes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from colorize.web.ranking import BASE_SCORE, ELO_SCALE, fit_strengths, leaderboard


def test_two_players_without_prior_match_the_closed_form():
    # The MLE for two players is p_a / p_b = wins_a / wins_b.
    strengths = fit_strengths(np.array([[0, 3], [1, 0]]), prior_games=0)
    assert strengths[0] / strengths[1] == pytest.approx(3.0, rel=1e-6)
    assert math.prod(strengths) == pytest.approx(1.0, rel=1e-6)  # geometric mean pinned to 1


def test_three_players_satisfy_the_likelihood_equations():
    wins = np.array([[0, 7, 9], [3, 0, 6], [1, 4, 0]], dtype=float)
    p = fit_strengths(wins, prior_games=0)
    games = wins + wins.T
    # At the MLE each player's expected wins equal its actual wins.
    expected = (games * p[:, None] / (p[:, None] + p[None, :])).sum(axis=1)
    np.testing.assert_allclose(expected, wins.sum(axis=1), rtol=1e-6)
    assert p[0] > p[1] > p[2]


def test_prior_keeps_an_unbeaten_model_finite_and_fades_with_votes():
    few = leaderboard(["a", "b"], [("a", "b", "left")] * 2)
    many = leaderboard(["a", "b"], [("a", "b", "left")] * 40 + [("b", "a", "left")] * 10)
    assert all(math.isfinite(s.score) for s in few + many)
    gap_few = few[0].score - few[1].score
    # 50 votes at 4:1 odds: the prior barely matters, the gap is close to the Elo value of 4:1.
    gap_many = many[0].score - many[1].score
    assert gap_few > 0
    assert gap_many == pytest.approx(ELO_SCALE * math.log10(4.0), rel=0.1)


def test_counts_sides_and_ties():
    votes = [("a", "b", "left"), ("b", "a", "left"), ("a", "c", "right"), ("b", "c", "tie"), ("c", "a", "left")]
    board = {s.model: s for s in leaderboard(["a", "b", "c"], votes)}
    assert (board["a"].wins, board["a"].losses, board["a"].ties) == (1, 3, 0)
    assert (board["b"].wins, board["b"].losses, board["b"].ties) == (1, 1, 1)
    assert (board["c"].wins, board["c"].losses, board["c"].ties) == (2, 0, 1)
    assert board["a"].votes == 4 and board["c"].votes == 3
    assert [s.model for s in leaderboard(["a", "b", "c"], votes)] == ["c", "b", "a"]


def test_symmetric_results_give_equal_scores():
    votes = [("a", "b", "left"), ("a", "b", "right"), ("b", "a", "tie")]
    first, second = leaderboard(["a", "b"], votes)
    assert first.score == pytest.approx(second.score)
    assert first.score == pytest.approx(BASE_SCORE)


def test_models_without_votes_are_listed_at_the_reference_score():
    board = leaderboard(["x", "y", "z"], [("x", "y", "left")])
    by_name = {s.model: s for s in board}
    assert by_name["z"].votes == 0 and by_name["z"].score == pytest.approx(BASE_SCORE)
    assert [s.rank for s in board] == [1, 2, 3]
    assert board[0].model == "x" and board[-1].model == "y"


def test_empty_and_bad_input():
    assert leaderboard([], []) == []
    assert [s.score for s in leaderboard(["a"], [])] == [BASE_SCORE]
    with pytest.raises(ValueError, match="unknown winner"):
        leaderboard(["a", "b"], [("a", "b", "middle")])
    with pytest.raises(ValueError, match="square"):
        fit_strengths(np.zeros((2, 3)))


def test_vote_for_unlisted_model_adds_it():
    board = leaderboard(["a"], [("a", "retired", "right")])
    assert {s.model for s in board} == {"a", "retired"}
    assert board[0].model == "retired"
