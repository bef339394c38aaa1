"""scikit-learn style gene selectors over every method: spred's here, the baselines' in :mod:`genesel.baselines`
(re-exported).

Each selector is fitted on preprocessed arrays (see :func:`genesel.preprocess.make_preprocessor`,
e.g. in a :class:`sklearn.pipeline.Pipeline`), exposes a per-gene score ``scores_``,
``get_support()`` (genes above the threshold, or the top ``n_features`` genes), and predicts.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_selection import SelectorMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted, validate_data

from genesel.baselines import L1_C_GRID, HSICLassoSelector, L1LogisticSelector, LimmaSelector  # noqa: F401
from genesel.models import make_architecture
from genesel.solver import CLASS_PRIOR, NO_MODEL, PathConfig, solve_path
from genesel.solver import predict_proba as solver_proba
from genesel.train import PAPER_GRID, TrainConfig, train_grid


class SpredSelector(SelectorMixin, ClassifierMixin, BaseEstimator):
    """spred (paper's Eq. 8) or its linear head alone as a selector and classifier.

    ``solver="path"`` (the default) solves the equivalent group lasso along a κ path with certified
    (KKT-checked) solutions, see :mod:`genesel.solver`; genes are selected where their row of
    first-layer weights is non-zero; with the MLP head the path runs up from a dense start on every gene, or
    on ``start_genes`` screened genes (default: 2,000 above 2,000 genes; :mod:`genesel.screen`).
    ``solver="sgd"`` is the paper's protocol: SGD on the Hadamard factors over the ``lrs`` x ``kappas`` grid,
    genes selected above ``threshold``.
    ``fit(X, y)`` holds out ``val_fraction`` of the arrays (stratified) to choose κ (and lr),
    unless ``X_val, y_val`` are given. With ``signal_alpha`` (default None: one validation part gives a
    test over splits nothing to pool, and a dozen arrays little power), the chosen model must beat the
    majority class on those arrays (a permutation test at that level, :mod:`genesel.signal`, with κ
    chosen again under each permutation); with ``prior_margin_se`` (path) also the class
    frequencies' log-likelihood by that many standard errors; where a split's models are no candidates, no
    gene is selected; where the test finds no signal, the chosen model's genes stay selected and ``predict``
    gives the majority class (``model_`` is None). ``signal_`` holds the test.
    """

    def __init__(
        self,
        variant: str = "spred",
        hidden: int | None = None,
        solver: str | None = None,
        n_kappas: int = 20,
        kappa_ratio: float = 0.01,
        kkt_tol: float | None = None,
        max_iter: int = 500,
        start_genes: int | None = None,
        lrs: tuple[float, ...] | None = None,
        kappas: tuple[float, ...] | None = None,
        threshold: float = 1e-3,
        max_epochs: int = 3000,
        momentum: float = 0.9,
        warmup_epochs: int = 0,
        val_fraction: float = 0.25,
        signal_alpha: float | None = None,
        prior_margin_se: float | None = None,
        device: str = "auto",
        random_state: int = 0,
    ):
        self.variant = variant
        self.hidden = hidden
        self.solver = solver
        self.n_kappas = n_kappas
        self.kappa_ratio = kappa_ratio
        self.kkt_tol = kkt_tol
        self.max_iter = max_iter
        self.start_genes = start_genes
        self.lrs = lrs
        self.kappas = kappas
        self.threshold = threshold
        self.max_epochs = max_epochs
        self.momentum = momentum
        self.warmup_epochs = warmup_epochs
        self.val_fraction = val_fraction
        self.signal_alpha = signal_alpha
        self.prior_margin_se = prior_margin_se
        self.device = device
        self.random_state = random_state

    def _settings(self, config_type) -> dict:
        """This selector's parameters that ``config_type`` (:class:`PathConfig` or :class:`TrainConfig`) takes:
        the config classes are the one source of spred's settings (the schema and the configs are checked
        against them by a test)."""
        params = self.get_params(deep=False)
        kw = {f.name: params[f.name] for f in fields(config_type) if f.name in params}
        kw["seed"] = self.random_state
        return kw

    def train_config(self) -> TrainConfig:
        return TrainConfig(**{**self._settings(TrainConfig), "lrs": tuple(self.lrs or PAPER_GRID),
                              "kappas": tuple(self.kappas or PAPER_GRID)})

    def path_config(self) -> PathConfig:
        return PathConfig(**{**self._settings(PathConfig), "kappas": tuple(self.kappas) if self.kappas else None})

    def _solver(self) -> str:
        from genesel.registry import DEFAULT_SOLVER

        return self.solver or DEFAULT_SOLVER[self.variant]

    def fit(self, X, y, X_val=None, y_val=None):
        X, y = validate_data(self, X, y, dtype=np.float32)
        if self._solver() not in ("path", "sgd"):
            raise ValueError(f"solver must be 'path' or 'sgd', not {self.solver!r}")
        if self._solver() == "path" and self.lrs is not None:
            raise ValueError("lrs apply to solver='sgd' (the paper's grid); the kappa path chooses its own steps")
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        Xtr, Xva, ytr, yva = (X, X_val, y, y_val) if X_val is not None else train_test_split(
            X, y, test_size=self.val_fraction, stratify=y, random_state=self.random_state)
        Xva = np.asarray(Xva, dtype=np.float32)
        ytr, yva = self._encoder.transform(ytr), self._encoder.transform(yva)
        data = (Xtr[None], ytr[None], Xva[None], yva[None], None, len(self.classes_))  # no test arrays here
        if self._solver() == "path":
            self._fit_path(data)
        else:
            self._fit_sgd(data)
        return self

    def _fit_path(self, data) -> None:
        result = solve_path(*data, self.path_config(), keep_models=True)
        k = int(result.choose()[0])
        if k == NO_MODEL:
            raise RuntimeError("no model on the kappa path could be fitted (every one diverged)")
        self.kappa_path_ = result.kappas
        self.path_results_ = {"kappa": result.kappas, "val_acc": result.val_acc[0], "n_selected": result.n_selected[0],
                              "certified": result.certified[0], "kkt_residual": result.kkt_residual[0],
                              "candidate": result.beats_prior()[0]}
        self.signal_ = dict(zip(("gain", "p"), result.signal())) if self.signal_alpha is not None else None
        self.device_ = result.device
        self.class_prior_ = result.prior[0]
        if k == CLASS_PRIOR:  # no signal shown on validation: no gene, the majority class
            self._fall_back_to_prior(data, result.scores.shape[2], int(result.iterations[0].sum()))
            return
        self.best_params_ = {"kappa": float(result.kappas[k])}
        self.val_score_ = float(result.val_acc[0, k])
        self.converged_ = bool(result.certified[0, k])
        self.kkt_residual_ = float(result.kkt_residual[0, k])
        self.n_epochs_ = int(result.iterations[0, : k + 1].sum())
        self.scores_ = result.scores[0, k]
        self.linear_share_ = result.linear_share[0, k]
        self.model_ = result.models[(0, k)] if result.signal_shown() else None  # no signal: genes kept, prior predicts

    def _fit_sgd(self, data) -> None:
        result = train_grid(*data, self.train_config(), keep_models=True)
        g = int(result.choose()[0])
        if g == NO_MODEL:
            raise RuntimeError("no model on the grid could be fitted (every one diverged)")
        self.grid_ = result.grid
        self.device_ = result.device
        self.class_prior_ = result.prior[0]
        self.signal_ = dict(zip(("gain", "p"), result.signal())) if self.signal_alpha is not None else None
        self.grid_results_ = {
            "val_acc": result.val_acc[0], "n_selected": result.n_selected[0],
            "converged": result.converged[0], "diverged": result.diverged[0], "epochs": result.epochs[0],
        }
        if g == CLASS_PRIOR:  # the chosen model shows no signal on validation: no gene, the majority class
            self._fall_back_to_prior(data, result.scores.shape[2], int(result.epochs[0].sum()))
            self.history_ = result.history.iloc[:0]
            return
        self.best_params_ = {"lr": result.grid[g][0], "kappa": result.grid[g][1]}
        self.val_score_ = float(result.val_acc[0, g])
        self.converged_ = bool(result.converged[0, g])
        self.n_epochs_ = int(result.epochs[0, g])
        self.scores_ = result.scores[0, g]
        self.model_ = result.models[(0, g)] if result.signal_shown() else None  # no signal: genes kept, prior predicts
        self.history_ = result.history.query("grid == @g").reset_index(drop=True)

    def _fall_back_to_prior(self, data, p: int, epochs: int) -> None:
        """No gene; ``predict`` gives the training arrays' majority class."""
        self.best_params_ = {"kappa": None}
        self.val_score_ = float(np.mean(data[3][0] == self.class_prior_.argmax()))
        self.converged_, self.kkt_residual_, self.n_epochs_ = True, float("nan"), epochs
        self.scores_ = np.zeros(p, dtype=np.float32)
        self.linear_share_ = np.full(p, np.nan, dtype=np.float32)
        self.model_ = None

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.scores_ > (0.0 if self._solver() == "path" else self.threshold)

    def predict_proba(self, X):
        import torch

        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        if self.model_ is None:  # the class prior was chosen
            return np.tile(self.class_prior_, (len(X), 1))
        if self._solver() == "path":
            return solver_proba(self.model_, X, make_architecture(self.variant, self.hidden), len(self.classes_))
        Xt = torch.as_tensor(X[None])
        return self.model_.predict_proba(Xt, torch.zeros(1, dtype=torch.long))["ensemble"][0].numpy()

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]
