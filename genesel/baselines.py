"""The scikit-learn selectors the pipeline fits split by split: the baselines of the table of methods
(:mod:`genesel.registry`, solver "selector"). Each declares, on :class:`SplitSelector`, what the runner and
stability selection need beyond ``fit(X, y, X_val, y_val)``; it exposes a per-gene score ``scores_``,
``get_support()`` and predicts.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_selection import SelectorMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted, validate_data

L1_C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


class SplitSelector:
    """What the table of methods (:mod:`genesel.registry`) reads from a "selector" method's class: the runner
    (:mod:`genesel.experiment`) fits it split by split, stability selection fixes its regularisation."""

    #: takes ``device=`` and runs on CUDA when present; the others run on the CPU
    uses_device = False
    #: per-split arrays of :class:`genesel.preprocess.StackedSplits` that ``fit`` also takes (by keyword, when present)
    split_fit_params: tuple[str, ...] = ()

    def run_columns(self) -> dict:
        """The fitted selector's columns of its own in the metrics table."""
        return {}

    @classmethod
    def fixed_settings(cls, params: dict, chosen: dict, q: int) -> dict:
        """``params`` with the regularisation fixed to ``chosen`` (the main splits' most frequent choice), for
        stability selection's halves (at most ``q`` genes count per half): the final model's C."""
        return {**params, "Cs": [float(chosen["C"])]}


class L1LogisticSelector(SplitSelector, SelectorMixin, ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression with an L1 penalty (scikit-learn's objective), C chosen on validation.

    Solved along the path of ``Cs`` with working sets and a KKT check over every gene
    (:mod:`genesel.l1path`; saga took over 12 CPU minutes per split at GDS scale). Genes are ranked by the
    norm of their coefficient vector across classes; selected when that norm is non-zero (above
    ``threshold``). ``converged_``: the KKT conditions hold over every gene at the chosen C within ``tol``
    (relative to the penalty) after at most ``max_iter`` proximal steps.
    """

    def __init__(self, Cs: tuple[float, ...] = L1_C_GRID, threshold: float = 1e-8, max_iter: int = 5000,
                 val_fraction: float = 0.25, random_state: int = 0, tol: float = 1e-3):
        self.Cs = Cs
        self.threshold = threshold
        self.max_iter = max_iter
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.tol = tol

    def fit(self, X, y, X_val=None, y_val=None):
        from genesel.l1path import L1LogisticModel, l1_logistic_path

        X, y = validate_data(self, X, y, dtype=np.float64)
        Xtr, Xva, ytr, yva = (X, X_val, y, y_val) if X_val is not None else train_test_split(
            X, y, test_size=self.val_fraction, stratify=y, random_state=self.random_state)
        classes, fits = l1_logistic_path(Xtr, ytr, self.Cs, max_iter=self.max_iter, tol=self.tol)
        best = None
        for fit in fits:  # strongest penalty first
            model = L1LogisticModel(classes, fit)
            acc = accuracy_score(yva, model.predict(Xva))
            n = int((np.linalg.norm(model.coef_, axis=0) > self.threshold).sum())
            key = (acc, -n, -fit.C)  # best accuracy, then fewer genes, then stronger penalty
            if best is None or key > best[0]:
                best = (key, model)
        (self.val_score_, _, _), self.model_ = best
        self.best_params_ = {"C": self.model_.C}
        self.classes_ = self.model_.classes_
        self.scores_ = np.linalg.norm(self.model_.coef_, axis=0)
        self.converged_ = self.model_.converged_
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.scores_ > self.threshold

    def predict(self, X):
        check_is_fitted(self)
        return self.model_.predict(validate_data(self, X, dtype=np.float64, reset=False))

    def predict_proba(self, X):
        check_is_fitted(self)
        return self.model_.predict_proba(validate_data(self, X, dtype=np.float64, reset=False))


class _GeneSubsetClassifier(SplitSelector, SelectorMixin, ClassifierMixin, BaseEstimator):
    """A selector that keeps the genes ``selected_`` and predicts with ``model_`` fitted on them."""

    _dtype = np.float32

    def _get_support_mask(self):
        check_is_fitted(self)
        mask = np.zeros(self.n_features_in_, dtype=bool)
        mask[self.selected_] = True
        return mask

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=self._dtype, reset=False)
        return self.model_.predict(X[:, self.selected_])


class HSICLassoSelector(_GeneSubsetClassifier):
    """Block HSIC-Lasso (genesel's torch implementation) picks ``n_features`` genes, then an
    RBF SVC is trained on them (the paper's baseline). ``C`` of the SVC is chosen on validation (HSIC-Lasso's
    genes do not depend on it)."""

    uses_device = True

    def __init__(self, n_features: int = 50, block_size: int = 20, n_permutations: int = 3,
                 Cs: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0), val_fraction: float = 0.25,
                 memory_budget_gb: float = 2.0, device: str = "auto", random_state: int = 0):
        self.n_features = n_features
        self.block_size = block_size
        self.n_permutations = n_permutations
        self.Cs = Cs
        self.val_fraction = val_fraction
        self.memory_budget_gb = memory_budget_gb
        self.device = device
        self.random_state = random_state

    def fit(self, X, y, X_val=None, y_val=None):
        from genesel.hsic import block_hsic_lasso

        X, y = validate_data(self, X, y, dtype=np.float32)
        Xtr, Xva, ytr, yva = (X, X_val, y, y_val) if X_val is not None else train_test_split(
            X, y, test_size=self.val_fraction, stratify=y, random_state=self.random_state)
        path = block_hsic_lasso(Xtr, ytr, n_features=self.n_features, block_size=self.block_size,
                                n_permutations=self.n_permutations, memory_budget_gb=self.memory_budget_gb,
                                device=self.device, seed=self.random_state)
        self.selected_ = path.selected
        self.storage_dtype_ = path.storage_dtype  # float16 when the kernels exceed the memory budget
        self.converged_ = len(path.selected) == self.n_features  # the path reached every requested gene
        self.scores_ = np.zeros(X.shape[1])
        # score: the selected genes' path coefficients, ranked order preserved by tiny decrements
        self.scores_[path.selected] = path.coefficients + 1e-12 * np.arange(len(path.selected), 0, -1)
        best = None
        for C in self.Cs:
            svc = SVC(C=C, kernel="rbf", gamma="scale").fit(Xtr[:, self.selected_], ytr)
            acc = accuracy_score(yva, svc.predict(np.asarray(Xva)[:, self.selected_]))
            if best is None or acc > best[0]:
                best = (acc, C, svc)
        self.val_score_, self.best_params_, self.model_ = best[0], {"C": best[1], "n_features": self.n_features}, best[2]
        self.classes_ = self.model_.classes_
        return self

    def run_columns(self) -> dict:
        """The kernels' storage type (float16 where they exceed the memory budget)."""
        return {"kernel_dtype": self.storage_dtype_}


class LimmaSelector(_GeneSubsetClassifier):
    """The top ``k`` genes by limma's moderated statistic on the training arrays (moderated t with two
    classes, F with more; :mod:`genesel.limma`), then a classifier on them: ``k`` from ``ks`` and the
    classifier's C from ``Cs``, chosen together on validation (ties: fewer genes, then smaller C).

    ``fit(..., scale=)`` takes the per-gene scale of standardised inputs, so the statistics are
    computed on the log2 values as limma sees them (its variance prior pools variances across
    genes, which standardising would flatten); the classifier sees the standardised arrays.
    ``fit(..., groups=)``: each training array's patient; limma treats one patient's arrays as correlated.
    Without ``X_val`` the validation part it holds back is not drawn by patient, and the patients are not used.
    ``classifier``: ``svc`` (RBF SVC, as HSIC-Lasso's) or ``logistic`` (L2 logistic regression).
    """

    _dtype = np.float64
    split_fit_params = ("scale", "groups")

    @classmethod
    def fixed_settings(cls, params: dict, chosen: dict, q: int) -> dict:
        """The chosen C, and ``k`` = ``q``: each half keeps its q best genes."""
        return {**params, "ks": [q], "Cs": [float(chosen["C"])]}

    def __init__(self, ks: tuple[int, ...] = (5, 10, 20, 50, 100), Cs: tuple[float, ...] = (0.1, 1.0, 10.0),
                 classifier: str = "svc", val_fraction: float = 0.25, random_state: int = 0):
        self.ks = ks
        self.Cs = Cs
        self.classifier = classifier
        self.val_fraction = val_fraction
        self.random_state = random_state

    def _model(self, C: float):
        if self.classifier == "svc":
            return SVC(C=C, kernel="rbf", gamma="scale")
        if self.classifier == "logistic":
            return LogisticRegression(C=C, max_iter=2000)
        raise ValueError(f"unknown classifier {self.classifier!r}; choose svc or logistic")

    def fit(self, X, y, X_val=None, y_val=None, scale=None, groups=None):
        from genesel.limma import moderated_test

        X, y = validate_data(self, X, y, dtype=np.float64)
        Xtr, Xva, ytr, yva = (X, X_val, y, y_val) if X_val is not None else train_test_split(
            X, y, test_size=self.val_fraction, stratify=y, random_state=self.random_state)
        codes = LabelEncoder().fit_transform(ytr)
        log2 = Xtr * (1.0 if scale is None else np.asarray(scale, dtype=np.float64))
        fit = moderated_test(log2, codes, block=None if groups is None or X_val is None else np.asarray(groups))
        statistic = np.abs(fit.t[:, 0]) if fit.t.shape[1] == 1 else fit.F
        self.scores_ = np.nan_to_num(statistic, nan=0.0)
        self.pvalues_ = fit.p_value
        order = np.argsort(-self.scores_, kind="stable")
        best = None
        for k in sorted({min(k, X.shape[1]) for k in self.ks}):
            cols = order[:k]
            for C in sorted(self.Cs):
                model = self._model(C).fit(Xtr[:, cols], ytr)
                acc = accuracy_score(yva, model.predict(np.asarray(Xva)[:, cols]))
                if best is None or acc > best[0]:
                    best = (acc, k, C, model)
        self.val_score_, k, C, self.model_ = best
        self.selected_ = order[:k]
        self.best_params_ = {"k": int(k), "C": C}
        self.classes_ = self.model_.classes_
        self.converged_ = True  # closed form
        return self

