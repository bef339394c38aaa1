"""The κ-path solver (genesel.solver): certified solutions against an independent float64 solver,
optimality checked from outside, screening and warm starts that change nothing, the MLP head's guard."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from genesel.models import make_architecture
from genesel.solver import NO_MODEL, PathConfig, predict_proba, solve_path
from tests.group_lasso_reference import group_lasso_logistic, objective, softmax


def three_class_data(n=150, p=300, seed=0):
    """Five genes mark class 1, five class 2; standardised, float64."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = rng.integers(0, 3, n)
    X[:, :5] += 1.0 * (y[:, None] == 1)
    X[:, 5:10] -= 1.0 * (y[:, None] == 2)
    return (X - X.mean(0)) / X.std(0), y


def fit(X, y, kappas, keep=True, **settings):
    Xs = X[None].astype(np.float32)
    config = PathConfig(variant=settings.pop("variant", "spred_linear"), kappas=tuple(kappas), device="cpu", **settings)
    return solve_path(Xs, y[None], Xs, y[None], Xs, 3, config, keep_models=keep)


def linear_coefficients(result, k, p):
    model = result.models[(0, k)]
    W = np.zeros((p, 3))
    W[model["genes"].numpy()] = model["params"]["V"].numpy()
    return W, model["params"]["b_lin"].numpy()


@pytest.mark.parametrize("kappa", [0.02, 0.005])
def test_linear_head_matches_an_independent_float64_group_lasso(kappa):
    X, y = three_class_data()
    W_ref, b_ref = group_lasso_logistic(X, y, 3, 2 * kappa)
    result = fit(X, y, [4 * kappa, 2 * kappa, kappa])
    W, b = linear_coefficients(result, 2, X.shape[1])
    support = set(np.flatnonzero(np.linalg.norm(W, axis=1)))
    assert support == set(np.flatnonzero(np.linalg.norm(W_ref, axis=1)))
    assert 10 <= len(support) < X.shape[1]  # a real selection, neither trivial nor everything
    ours, ref = objective(X, y, W, b, 2 * kappa), objective(X, y, W_ref, b_ref, 2 * kappa)
    assert abs(ours - ref) <= 1e-4 * ref
    assert result.certified[0, 2] and result.kkt_residual[0, 2] <= 0.01


def test_optimality_conditions_hold_when_checked_from_outside():
    """Recompute the KKT conditions in float64 numpy from the returned model, every gene."""
    X, y = three_class_data(seed=1)
    kappa = 0.01
    result = fit(X, y, [0.04, 0.02, kappa])
    W, b = linear_coefficients(result, 2, X.shape[1])
    G = X.T @ (softmax(X @ W + b) - np.eye(3)[y]) / len(y)  # gradient of the mean CE
    norms = np.linalg.norm(W, axis=1)
    active = norms > 0
    inactive_excess = np.linalg.norm(G[~active], axis=1).max() / (2 * kappa)
    assert inactive_excess <= 1.01
    stationarity = np.linalg.norm(G[active] + 2 * kappa * W[active] / norms[active, None], axis=1) / (2 * kappa)
    assert stationarity.max() <= 0.02
    assert np.abs((softmax(X @ W + b) - np.eye(3)[y]).mean(0)).max() < 1e-3  # intercepts at their optimum


def boundary_genes(X, y, kappa, tol=0.01):
    """Genes the certificate cannot decide: at the float64 optimum, inactive with a gradient norm within
    ``tol`` of 2κ, or active with a negligible row (their status flips with float32 rounding)."""
    W, b = group_lasso_logistic(X, y, 3, 2 * kappa)
    G = X.T @ (softmax(X @ W + b) - np.eye(3)[y]) / len(y)
    norms = np.linalg.norm(W, axis=1)
    ratio = np.linalg.norm(G, axis=1) / (2 * kappa)
    return set(np.flatnonzero(((norms == 0) & (ratio > 1 - tol)) | ((norms > 0) & (norms < 1e-4 * norms.max()))))


def test_screening_and_warm_starts_change_no_gene():
    """Strong-rule screening on or off, a 12-step warm path or κ alone: the same genes at that κ, except
    genes within the certificate's 1% of the KKT boundary (here three of 69; one, at 0.9994 of 2κ, has a
    float32 row of 1e-5 or 0 depending on the order of the sums)."""
    X, y = three_class_data(n=120, p=400, seed=2)
    kappa = 0.012
    path = np.geomspace(0.05, kappa, 12)
    screened = fit(X, y, path, keep=False)
    unscreened = fit(X, y, path, keep=False, screen=False)
    cold = fit(X, y, [kappa], keep=False)
    supports = [set(np.flatnonzero(r.scores[0, -1])) for r in (screened, unscreened, cold)]
    boundary = boundary_genes(X, y, kappa)
    assert len(boundary) <= 0.05 * len(supports[1])  # the exception stays an exception
    assert supports[0] - boundary == supports[1] - boundary == supports[2] - boundary and len(supports[0]) > 5
    assert screened.n_computed.max() < X.shape[1] / 2  # screened-out genes never entered the matmuls
    assert (unscreened.n_computed[1:] == X.shape[1]).all()


def test_a_path_run_up_from_a_dense_start_reaches_the_same_optima():
    """The linear head is convex: solved from a random dense model at the smallest κ and then up the
    path, every κ has the genes the usual path down finds, and every model is certified."""
    X, y = three_class_data(n=120, p=200, seed=4)
    path = np.geomspace(0.05, 0.01, 5)
    down = fit(X, y, path, keep=False)
    up = fit(X, y, path, keep=False, direction="up")
    for k in range(len(path)):
        differ = set(np.flatnonzero(up.scores[0, k])) ^ set(np.flatnonzero(down.scores[0, k]))
        # at most a gene on the certificate's boundary: its gradient norm within the KKT tolerance (0.01) of 2κ in
        # both solutions, and a weight under 1e-3 of the largest (float rounding decides which side it falls on)
        largest = max(up.scores[0, k].max(), down.scores[0, k].max())
        assert len(differ) <= 1
        for i in differ:
            assert min(up.grad_ratio[0, k, i], down.grad_ratio[0, k, i]) >= 0.99
            assert max(up.scores[0, k, i], down.scores[0, k, i]) < 1e-3 * largest
    assert up.certified.all() and up.n_selected[0, -1] > up.n_selected[0, 0]
    with pytest.raises(ValueError, match="direction must be down or up"):
        fit(X, y, path, direction="sideways")


def test_the_dense_start_drops_zero_rows_from_its_matmuls_and_the_kkt_check_restores_what_it_needs():
    """Up the path, each split on its own working set, the dense start's genes that the penalty zeroes leave the
    matmuls during the solve (only the active genes and ``ws_min`` candidates stay); the KKT check over every gene
    at the end brings back any that should be in, so the convex linear head still reaches the path down's optima,
    certified."""
    X, y = three_class_data(n=120, p=400, seed=4)
    path = np.geomspace(0.05, 0.01, 5)
    down = fit(X, y, path, keep=False)
    up = fit(X, y, path, keep=False, direction="up", ws_min=20, working_sets="per_split")
    assert up.n_computed[-1] < X.shape[1] / 2  # the smallest κ, solved first from every gene
    for k in range(len(path)):
        differ = set(np.flatnonzero(up.scores[0, k])) ^ set(np.flatnonzero(down.scores[0, k]))
        assert not differ - boundary_genes(X, y, path[k])
    assert up.certified.all()


def test_models_done_early_leave_the_batch_and_the_others_step_on_unchanged(monkeypatch):
    """A batch's matmuls cost its widest model's whether a model is done or not, so once half the models are
    done the others step as a batch of their own: the same steps, to the same models, as in the whole batch."""
    import genesel.solver
    from genesel.prox import Fista

    taken, solves = [], []  # a compaction takes each of the two blocks (Fista.take); backtracking takes problems only
    take, solve = Fista.take, genesel.solver.PathSolver._solve_working_set
    monkeypatch.setattr(Fista, "take", lambda self, idx, sub: taken.append(len(idx)) or take(self, idx, sub))
    monkeypatch.setattr(genesel.solver.PathSolver, "_solve_working_set",
                        lambda self, *args: solves.append(1) or solve(self, *args))
    data = [three_class_data(n=90, p=120, seed=s) for s in range(4)]
    X = np.stack([d[0] for d in data]).astype(np.float32)
    y = np.stack([d[1] for d in data])
    config = PathConfig(variant="spred", hidden=16, n_kappas=4, kappa_ratio=0.1, max_iter=150, max_above=1,
                        signal_alpha=None, device="cpu")
    compacted = solve_path(X, y, X, y, None, 3, config)
    assert taken and min(taken) < 4  # some models finished first
    assert len(taken) <= 2 * 2 * len(solves)  # each solve halves its 4 models at most twice, not once a step
    monkeypatch.setattr(genesel.solver, "COMPACT", 0.0)
    whole = solve_path(X, y, X, y, None, 3, config)
    assert np.array_equal(whole.iterations, compacted.iterations) and np.array_equal(whole.certified, compacted.certified)
    np.testing.assert_allclose(whole.scores, compacted.scores, rtol=1e-4, atol=1e-6)


def test_every_kappa_after_the_first_takes_at_most_warm_iter_steps_over_its_rounds():
    """``warm_iter`` caps the steps of a κ warm-started from a neighbour, over all its re-admission rounds; the
    first κ (the dense start up the path) keeps ``max_iter`` per round."""
    X, y = three_class_data(n=120, p=200, seed=4)
    up = fit(X, y, np.geomspace(0.05, 0.01, 5), keep=False, direction="up", warm_iter=7, max_iter=300)
    assert (up.iterations[:, :-1] <= 7).all() and (up.iterations[:, :-1] > 0).all()
    assert up.iterations[0, -1] > 7 and up.certified[0, -1]  # the first κ took more steps than the cap
    data = _splits(X, y, 3)
    wide = solve_path(*data, 3, PathConfig(variant="spred", hidden=16, start_genes=40, n_kappas=6, max_above=3,
                                           warm_iter=30, device="cpu"))
    assert (wide.iterations[:, :-1] <= 30).all()


def test_a_readmission_round_steps_only_the_models_that_readmitted_genes(monkeypatch):
    """After the first round at a κ, only the models whose KKT check re-admitted genes step again; the others
    are done and keep their step count (and the round of a few models runs as a batch of its own)."""
    from genesel.solver import PathSolver

    rounds = []
    solve = PathSolver._solve_working_set

    def recording(self, kappa, iterations, shrink, max_iter, live):
        before = iterations.copy()
        residual = solve(self, kappa, iterations, shrink, max_iter, live)
        still = ~live.cpu().numpy()
        rounds.append((int(live.sum()), len(live)))
        assert (iterations[still] == before[still]).all() and torch.isinf(residual[~live]).all()
        return residual

    monkeypatch.setattr(PathSolver, "_solve_working_set", recording)
    X, y = three_class_data(n=150, p=300, seed=2)
    result = solve_path(*_splits(X, y, 4), 3, PathConfig(variant="spred", hidden=16, start_genes=50, max_iter=150,
                                                          n_kappas=6, max_above=3, device="cpu", seed=1))
    assert any(0 < stepped < models for stepped, models in rounds)  # some round re-admitted genes to some models only
    assert result.certified.mean() > 0.9


def test_kappa_max_keeps_no_gene_and_the_path_opens_below_it():
    X, y = three_class_data(seed=3)
    Xs = X[None].astype(np.float32)
    result = solve_path(Xs, y[None], Xs, y[None], Xs, 3, PathConfig(variant="spred_linear", n_kappas=20, device="cpu"))
    assert len(result.kappas) == 20 and np.isclose(result.kappas[0], result.kappa_max[0])
    assert np.allclose(result.kappas[-1] / result.kappas[0], 0.01)
    assert result.n_selected[0, 0] == 0 and result.n_selected[0, 1] >= 1
    assert (np.diff(result.n_selected[0][np.isfinite(result.val_acc[0])]) >= -2).all()  # grows along the path


def test_mlp_head_cannot_move_scale_into_its_deeper_layers():
    """Each deeper weight matrix stays within the norm it started with, and the model is usable."""
    from genesel.models import BatchedNet

    X, y = three_class_data(n=120, p=60, seed=4)
    result = fit(X, y, np.geomspace(0.05, 0.002, 6), variant="spred", hidden=16, max_iter=300)
    # the solver starts its deeper layers as nn.Linear would, for a one-input first layer (seed 0, split 0)
    start = BatchedNet.init(make_architecture("spred", 16), 1, 3, 1, [0], torch.zeros(1, dtype=torch.long), torch.device("cpu"))
    last = result.models[(0, 5)]["params"]
    for name in ("W_h1", "W_out"):
        assert last[name].norm() <= start.params[name][0].norm() * (1 + 1e-5)
        assert last[name].norm() >= 0.5 * start.params[name][0].norm()  # the head is used, not collapsed
    share = result.linear_share[0, 5]
    assert np.isfinite(share).sum() == result.n_selected[0, 5] > 0
    proba = predict_proba(result.models[(0, 5)], X.astype(np.float32), make_architecture("spred", 16), 3)
    assert proba.shape == (120, 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert (proba.argmax(1) == y).mean() > 0.8


def test_default_solver_per_variant_and_sgd_settings_refused_on_the_path():
    from genesel.selectors import SpredSelector

    X, y = three_class_data(n=60, p=30)
    assert SpredSelector(variant="spred_linear")._solver() == SpredSelector()._solver() == "path"
    assert SpredSelector(solver="sgd")._solver() == "sgd"
    with pytest.raises(ValueError, match="lrs apply to solver='sgd'"):
        SpredSelector(solver="path", lrs=(0.1,), device="cpu").fit(X, y)


def test_constant_training_labels_are_refused_with_one_line():
    X, _ = three_class_data(n=40, p=20)
    Xs = X[None].astype(np.float32)
    y = np.zeros((1, 40), dtype=int)
    with pytest.raises(ValueError, match="split 0: every training array has the same label") as info:
        solve_path(Xs, y, Xs, y, Xs, 3, PathConfig(device="cpu"))
    assert "\n" not in str(info.value)


def misleading_validation(S=2, p=200, seed=5):
    """The genes that mark class 1 in training point the wrong way on validation (every validation array
    is of class 0 yet carries the class-1 shift): every model with genes is worse there than the class prior."""
    rng = np.random.default_rng(seed)
    parts = {"train": 60, "val": 20, "test": 20}
    X = {k: rng.standard_normal((S, n, p)).astype(np.float32) for k, n in parts.items()}
    y = {k: np.tile(np.r_[np.zeros(n * 3 // 4, int), np.ones(n - n * 3 // 4, int)], (S, 1)) for k, n in parts.items()}
    y["val"][:] = 0
    X["train"][:, y["train"][0] == 1, :3] += 1.5  # some signal in training, so the path does open
    X["val"][:, :, :3] += 3.0
    return X, y


def misleading_run_inputs():
    """:func:`misleading_validation` as a dataset named NOISE and its stacked splits, for ``run_method``."""
    from genesel.dataset import Dataset
    from genesel.preprocess import StackedSplits

    X, y = misleading_validation()
    S, p = X["train"].shape[0], X["train"].shape[2]
    index = {k: np.tile(np.arange(v.shape[1]) + 100 * i, (S, 1)) for i, (k, v) in enumerate(X.items())}
    data = Dataset(name="NOISE", X=np.zeros((300, p), np.float32), probe_ids=np.array([f"p{j}" for j in range(p)]),
                   gene_symbols=np.array([""] * p), sample_ids=np.array([f"s{i}" for i in range(300)]),
                   y=np.zeros(300, int), class_names=["a", "b"], label_type="t", metadata={})
    return data, StackedSplits(X=X, y=y, index=index, kept=np.ones((S, p), bool), log2_applied=np.zeros(S, bool))


def test_no_signal_keeps_the_chosen_genes_marked_and_predicts_the_majority_class():
    """With a misleading validation part, the chosen models do not beat the majority class over the splits: a
    warning names dataset and method and gives the test, each split keeps its chosen model's genes (the list
    is marked, not hidden) and predicts the majority class."""
    from genesel.experiment import run_method
    from genesel.ranking import NO_SIGNAL

    data, stacked = misleading_run_inputs()
    with pytest.warns(UserWarning, match=r"NOISE spred_linear: over 2 splits .* no evidence of class signal; its genes"):
        result = run_method("spred_linear", data, stacked, {"n_kappas": 10, "kappa_ratio": 0.05}, device="cpu")
    assert np.allclose(result.metrics.accuracy, 0.75)  # the test arrays' majority rate
    settings = json.loads(result.metrics.hyperparameters[0])
    assert settings["predicts"] == "majority class" and settings["kappa"] > 0
    assert (result.metrics.signal_p > 0.05).all() and (result.metrics.signal == NO_SIGNAL).all()
    assert result.history.chosen.sum() == 2  # each split's κ, as with signal
    assert (result.metrics.n_selected.to_numpy() == result.selected.sum(1)).all()
    # the per-split margin, when asked for, sends each split there by itself and says so per split
    with pytest.warns(UserWarning, match="NOISE spred_linear split 1: no model on the kappa path predicts"):
        run_method("spred_linear", data, stacked, {"n_kappas": 10, "kappa_ratio": 0.05, "prior_margin_se": 1.0,
                                                   "signal_alpha": None}, device="cpu")


def test_the_selector_without_signal_keeps_its_genes_and_predicts_the_majority_class():
    from genesel.selectors import SpredSelector

    X, y = misleading_validation(S=1)
    selector = SpredSelector(variant="spred_linear", n_kappas=8, kappa_ratio=0.05, signal_alpha=0.05, device="cpu")
    selector.fit(X["train"][0], y["train"][0], X["val"][0], y["val"][0])
    assert selector.model_ is None and selector.best_params_["kappa"] > 0  # the chosen model's genes stay
    assert (selector.predict(X["test"][0]) == 0).all()
    assert np.allclose(selector.predict_proba(X["test"][0][:2]), [[0.75, 0.25]] * 2)
    # without the guard, the best model on the path is taken even though it is worse than the prior
    assert selector.signal_["p"] > 0.05
    unguarded = SpredSelector(variant="spred_linear", n_kappas=8, kappa_ratio=0.05, signal_alpha=None, device="cpu")
    assert unguarded.fit(X["train"][0], y["train"][0], X["val"][0], y["val"][0]).model_ is not None


def test_a_model_must_beat_the_class_prior_by_its_margin_to_be_chosen():
    """Labels unrelated to the arrays: a split falls back to the class prior exactly where no model's
    paired validation log-likelihood gain over the prior exceeds one standard error; with real signal
    no split falls back."""
    from genesel.solver import CLASS_PRIOR

    rng = np.random.default_rng(11)
    X = rng.normal(size=(6, 90, 40)).astype(np.float32)
    y = np.stack([rng.permutation(np.arange(90) % 2) for _ in range(6)])
    config = PathConfig(device="cpu", variant="spred_linear", n_kappas=8, kappa_ratio=0.05, max_iter=200,
                        prior_margin_se=1.0, signal_alpha=None)
    result = solve_path(X[:, :60], y[:, :60], X[:, 60:], y[:, 60:], X[:, 60:], 2, config)
    chosen = result.choose()
    gain, se = result.validation.gain, result.validation.gain_se
    beats = np.isfinite(gain) & (gain > np.nan_to_num(se))
    assert ((chosen == CLASS_PRIOR) == ~beats.any(1)).all() and (chosen == CLASS_PRIOR).any()
    assert all(beats[s, g] for s, g in enumerate(chosen) if g >= 0)
    proba = result.chosen_test_proba(chosen)
    for s in np.flatnonzero(chosen == CLASS_PRIOR):  # the training arrays' class frequencies
        assert np.allclose(proba[s], np.bincount(y[s, :60]) / 60)
    Xs, ys = three_class_data(n=150, p=60)
    Xs = np.stack([Xs[:90], Xs[30:120]]).astype(np.float32)
    signal = solve_path(Xs, np.stack([ys[:90], ys[30:120]]), Xs[:, :40], np.stack([ys[:40], ys[30:70]]), None, 3, config)
    assert (signal.choose() >= 0).all()


def test_a_split_whose_numbers_overflow_is_flagged_not_chosen():
    """Values near float32's limit overflow the matmuls of split 1: its models are marked diverged, no κ
    is chosen there, not even the gene-free model at κ_max (the pipeline flags the split as failed, with a
    warning), and split 0 is not (its κ path, from split 1's huge κ_max, keeps no gene, so it falls back to the
    class prior)."""
    X, y = three_class_data(n=60, p=20)
    Xs = np.stack([X, X]).astype(np.float32)
    Xs[1, :, 0] = 3e19
    ys = np.stack([y, y])
    result = solve_path(Xs, ys, Xs, ys, Xs, 3, PathConfig(device="cpu", variant="spred_linear", n_kappas=5, max_iter=50))
    # every κ below κ_max diverges on split 1 (at κ_max no gene is in, so nothing overflows)
    assert result.diverged[1, 1:].all() and not result.diverged[0].any()
    assert result.choose()[1] == NO_MODEL and result.choose()[0] != NO_MODEL  # split 0: a model or the prior


def test_one_standard_error_rule_takes_the_sparsest_model_within_one_se_of_the_lowest_loss():
    """Labels unrelated to the arrays: the 1se rule (glmnet's lambda.1se) keeps the sparsest model whose
    validation log-loss is within one standard error of the lowest: fewer genes than the default rule keeps,
    none at all in some split."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 60, 30)).astype(np.float32)
    y = np.stack([rng.permutation(np.arange(60) % 2) for _ in range(2)])
    result = solve_path(X[:, :40], y[:, :40], X[:, 40:], y[:, 40:], None, 2,
                        PathConfig(device="cpu", variant="spred_linear", n_kappas=8, max_iter=200, choose="1se",
                                   signal_alpha=None))
    chosen = result.choose()
    for s, g in enumerate(chosen):
        ok = np.isfinite(result.val_loss[s])
        bound = np.nanmin(result.val_loss[s]) + result.validation.loss_se[s, np.nanargmin(result.val_loss[s])]
        assert result.val_loss[s, g] <= bound + 1e-12
        assert result.n_selected[s, g] == result.n_selected[s, ok & (result.val_loss[s] <= bound + 1e-12)].min()
    genes_1se = result.n_selected[np.arange(2), chosen]
    se = result.validation.loss_se.copy()
    result.validation.loss_se[:] = np.nan  # as with one validation array: no margin, the lowest loss itself
    assert np.allclose(result.val_loss[np.arange(2), result.choose()], np.nanmin(result.val_loss, axis=1))
    result.validation.loss_se = se
    result.rule = "best"
    assert (genes_1se <= result.n_selected[np.arange(2), result.choose()]).all() and (genes_1se == 0).any()
    with pytest.raises(ValueError, match="choose must be best or 1se"):
        solve_path(X, y, X, y, None, 2, PathConfig(device="cpu", variant="spred_linear", choose="cv"))


def test_the_sgd_grid_falls_back_to_the_class_prior_when_asked_to_test():
    """The SGD grid with ``signal_alpha``: a misleading validation part shows no signal, so every split
    predicts the majority class and carries the test's p-value; its genes are those it keeps without the test."""
    from genesel.experiment import run_method

    data, stacked = misleading_run_inputs()
    grid = {"solver": "sgd", "hidden": 8, "lrs": [0.1], "kappas": [0.01], "max_epochs": 150}
    with pytest.warns(UserWarning, match=r"NOISE spred: over 2 splits .* no evidence of class signal"):
        tested = run_method("spred", data, stacked, {**grid, "signal_alpha": 0.05}, device="cpu")
    assert np.allclose(tested.metrics.accuracy, 0.75) and (tested.metrics.signal_p > 0.05).all()
    untested = run_method("spred", data, stacked, grid, device="cpu")
    assert untested.selected.any() and untested.metrics.signal_p.isna().all()
    assert (tested.selected == untested.selected).all()  # the one grid point's genes, with or without the test


def test_a_path_up_climbs_until_every_model_keeps_no_gene():
    """From a dense start the MLP head can hold genes beyond κ_max (the gradient at V = 0), so the path up
    grows κ in its own steps until no model keeps a gene: the path then holds the sparse lists and the
    gene-free model, and the kept models stay indexed by the trimmed path."""
    X, y = three_class_data(n=120, p=60, seed=4)
    Xs = X[None].astype(np.float32)
    config = PathConfig(variant="spred", hidden=16, n_kappas=8, kappa_ratio=0.05, max_iter=200, device="cpu")
    result = solve_path(Xs, y[None], Xs, y[None], Xs, 3, config, keep_models=True)
    base = result.kappa_max[0] * np.logspace(0, np.log10(0.05), 8)
    assert np.allclose(result.kappas[-8:], base, rtol=1e-5)  # the path asked for, whole
    assert len(result.kappas) > 8 and result.n_selected[0, -8] > 0  # the dense start keeps genes at κ_max
    assert result.n_selected[0, 0] == 0 and result.n_selected[0, 1] > 0  # it stops at the first empty model
    assert len(result.kappas) == result.n_selected.shape[1] == result.val_proba.shape[1] == len(result.n_computed)
    assert sorted(k for _, k in result.models) == list(range(len(result.kappas)))
    assert len(result.models[(0, 0)]["genes"]) == 0  # the gene-free model still predicts
    proba = predict_proba(result.models[(0, 0)], X.astype(np.float32), make_architecture("spred", 16), 3)
    assert proba.shape == (120, 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert result.head_val_proba["mlp"].shape == result.val_proba.shape
    capped = solve_path(Xs, y[None], Xs, y[None], Xs, 3, replace(config, max_above=0))
    assert len(capped.kappas) == 8


def _splits(X, y, n_splits, seed=0):
    """``n_splits`` random 60/20/20 splits of ``(X, y)``, stacked as solve_path takes them."""
    rng = np.random.default_rng(seed)
    parts = [rng.permutation(len(y)) for _ in range(n_splits)]
    a, b = int(0.6 * len(y)), int(0.8 * len(y))
    stack = lambda sl: (np.stack([X[q[sl]] for q in parts]).astype(np.float32), np.stack([y[q[sl]] for q in parts]))  # noqa: E731
    (Xt, yt), (Xv, yv), (Xs, _) = stack(slice(0, a)), stack(slice(a, b)), stack(slice(b, None))
    return Xt, yt, Xv, yv, Xs


@pytest.mark.parametrize("settings", [
    dict(variant="spred", hidden=16, start_genes=50, max_iter=150),  # up from the screened start
    dict(variant="spred_linear", kkt_tol=1e-4, max_iter=1500),  # down, strong-rule screened, solved tightly
])
def test_per_split_working_sets_compute_what_the_union_computes(settings):
    """A gene outside a split's working set has zero weight there, so computing each split on its own genes
    (padded to the widest split) must give the union's models, κ by κ, at a fraction of the union's width."""
    X, y = three_class_data(n=150, p=300, seed=2)
    data = _splits(X, y, 4)
    runs = {ws: solve_path(*data, 3, PathConfig(n_kappas=6, max_above=3, device="cpu", seed=1, working_sets=ws,
                                                 **settings), keep_models=True)
            for ws in ("union", "per_split")}
    union, own = runs["union"], runs["per_split"]
    np.testing.assert_array_equal(own.kappas, union.kappas)
    np.testing.assert_array_equal(own.n_selected, union.n_selected)
    # equal up to float rounding, which the stopping rule can turn into a step more or less: within the solve's tolerance
    np.testing.assert_allclose(own.scores, union.scores, rtol=0, atol=10 * settings.get("kkt_tol", 1e-4) * union.scores.max())
    np.testing.assert_allclose(own.val_proba, union.val_proba, atol=1e-3)
    np.testing.assert_array_equal(own.choose_per_split(), union.choose_per_split())
    # a certificate may flip where a residual lies near the tolerance (a model stopped by max_iter, say)
    tol = settings.get("kkt_tol", 0.25)
    clear = (np.abs(np.log(union.kkt_residual / tol)) > np.log(2)) & (np.abs(np.log(own.kkt_residual / tol)) > np.log(2))
    np.testing.assert_array_equal(own.certified[clear], union.certified[clear])
    assert (own.n_computed <= union.n_computed).all() and (own.n_computed < union.n_computed).any()
    for key, model in own.models.items():  # each kept model names its own genes
        assert set(model["genes"].tolist()) == set(union.models[key]["genes"].tolist())


def test_per_split_working_sets_keep_each_splits_rows_when_the_sets_change():
    from genesel.prox import Problem

    X = torch.randn(3, 20, 12)
    pb = Problem(make_architecture("spred_linear", None), 3, X, torch.zeros(3, 20, dtype=torch.long), 0, per_split=True)
    start = torch.zeros(3, 12, dtype=torch.bool)
    start[0, [1, 5]], start[1, [2, 3, 4, 11]], start[2, [0]] = True, True, True
    pb.dense_start(0, start)
    assert pb.cols.shape == (3, 4) and torch.equal(pb.allowed_full(), start) and torch.equal(pb.active_full(), start)
    before = {(m, int(g)): pb.params["V"][m, j].clone() for m, j in zip(*torch.nonzero(pb.allowed, as_tuple=True))
              for g in [pb.cols[m, j]]}
    grow = torch.zeros(3, 12, dtype=torch.bool)
    grow[2, 7] = True  # split 2 gains a gene; the others keep theirs (active genes always stay)
    pb.set_working_set(grow)
    assert pb.cols.shape == (3, 4) and pb.allowed_full()[2].nonzero().squeeze(1).tolist() == [0, 7]
    for (m, g), row in before.items():
        j = (pb.cols[m] == g) & pb.valid[m]
        assert torch.equal(pb.params["V"][m, j][0], row)
    XW = pb.gather(X)  # each split's own columns of X
    for m in range(3):
        assert torch.equal(XW[m][:, pb.valid[m]], X[m][:, pb.cols[m, pb.valid[m]]])


@pytest.mark.parametrize("hidden", [4, 64])
def test_the_kkt_checks_gradient_norms_are_every_genes_gradient_norm(hidden):
    """``full_group_grad_norms`` against autograd's gradient of the cross-entropy by each gene's row, with every
    gene in: narrow heads (``d < n``) take ``‖δ^T x_i‖`` directly, wide ones (``d > n``) through ``δ^T = QR``."""
    from genesel.prox import Problem

    torch.manual_seed(0)
    X = torch.randn(2, 20, 30)
    y = torch.randint(0, 3, (2, 20))
    pb = Problem(make_architecture("spred", hidden), 3, X, y, 0, per_split=True)
    pb.dense_start(0, torch.rand(2, 30) < 0.5)  # half the genes in, random rows; the others have zero weight
    with torch.enable_grad():
        V_full = torch.zeros(2, 30, pb.params["V"].shape[2])
        for m in range(2):
            V_full[m, pb.cols[m, pb.valid[m]]] = pb.params["V"][m, pb.valid[m]]
        V_full.requires_grad_(True)
        z = torch.bmm(X, V_full)
        (grad,) = torch.autograd.grad(pb.cross_entropy(pb.params, z, y).sum(), [V_full])
    assert (hidden + 3 > 20) == (hidden == 64)
    torch.testing.assert_close(pb.full_group_grad_norms(pb.params, chunk=7), grad.norm(dim=2), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("hidden", [None, 64])
def test_the_gradient_by_v_and_with_v_held_is_autograds(hidden):
    """``value_and_grad`` computes ``V``'s gradient as ``X_wᵀ δ`` in ``V``'s own layout, and the deeper layers'
    gradients from a first-layer output computed once where ``V`` is held: both as autograd gives them through
    the whole model, for the linear head alone (the transposed first layer) and with an MLP head."""
    from genesel.prox import Problem

    torch.manual_seed(1)
    X, y = torch.randn(3, 25, 40), torch.randint(0, 3, (3, 25))
    variant = "spred" if hidden else "spred_linear"
    pb = Problem(make_architecture(variant, hidden), 3, X, y, 0, per_split=True)
    pb.dense_start(0, torch.rand(3, 40) < 0.6)
    with torch.enable_grad():
        leaves = {k: v.detach().requires_grad_(True) for k, v in pb.params.items()}
        (expected,) = torch.autograd.grad(pb.loss(leaves).sum(), [leaves["V"]])
        deeper = [k for k in pb.params if k != "V"]
        expected_deeper = torch.autograd.grad(pb.loss(leaves).sum(), [leaves[k] for k in deeper])
    value, grads = pb.value_and_grad(pb.params)
    torch.testing.assert_close(value, pb.loss(pb.params))
    torch.testing.assert_close(grads["V"], expected)
    assert grads["V"].is_contiguous()
    z = pb.first_layer(pb.params, pb.XW)
    _, held = pb.value_and_grad(pb.params, tuple(deeper), z)
    for name, grad in zip(deeper, expected_deeper):
        torch.testing.assert_close(held[name], grad)


def test_a_batch_of_models_steps_as_each_model_would_alone():
    """Backtracking rounds after the first compute only the models still backtracking: a batch of models takes
    the same steps, step sizes and restarts as each model stepping alone, also when their step sizes start too
    large and they backtrack different numbers of times."""
    from genesel.prox import Fista, Problem

    torch.manual_seed(2)
    X, y = torch.randn(4, 30, 50), torch.randint(0, 3, (4, 30))
    pb = Problem(make_architecture("spred", 16), 3, X, y, 0, per_split=True)
    pb.dense_start(0, torch.rand(4, 50) < 0.5)
    step = torch.tensor([1.0, 30.0, 300.0, 3000.0])  # from about right to far too large
    others = tuple(k for k in pb.params if k != "V")
    alone = [pb.take(torch.tensor([m])) for m in range(4)]
    kappa = torch.full((4,), 0.01)

    def run(problem, s, kap):
        blocks = [Fista(problem, s.clone(), names) for names in (others, ("V",))]
        for _ in range(6):
            for block in blocks:
                block.iterate(kap, torch.ones(problem.M, dtype=torch.bool))
        return blocks

    taken, take = [], Problem.take
    with pytest.MonkeyPatch.context() as patch:  # count the backtracking rounds that ran on part of the batch
        patch.setattr(Problem, "take", lambda self, idx: taken.append(len(idx)) or take(self, idx))
        batch = run(pb, step, kappa)
    assert taken and min(taken) < 4  # some rounds ran on the models still backtracking only
    for m, problem in enumerate(alone):
        single = run(problem, step[m:m + 1], kappa[m:m + 1])
        for name, value in problem.params.items():
            torch.testing.assert_close(pb.params[name][m:m + 1], value, rtol=1e-5, atol=1e-6)
        for whole, one in zip(batch, single):
            torch.testing.assert_close(whole.step[m:m + 1], one.step)
