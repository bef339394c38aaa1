"""Does a method's validation part show signal? The chosen models' held-out predictions, pooled over the
splits, against the class prior, with a permutation null of the labels of the whole resampling.

Whether a set carries signal for a method is a property of the set, so the evidence is pooled over the
splits. The statistic is, over every (split, validation array) pair, the chosen model's accuracy minus that
of the split's training majority class (zero where a split chose the class prior): the out-of-sample
predictions of all splits in one number. (The probability of the true class minus its training frequency,
``statistic="probability"``, has a little more power but exceeded its level with patients grouped:
8.75% of 160 simulated null sets against 1.25% for accuracy; ``benchmarks/RESULTS.md``.)

Its null permutes the labels of the arrays that were validation arrays somewhere, **once for all splits**
(an array keeps its permuted label in every split it validates; a patient's arrays move together: where a
patient's arrays share one label, the patients' labels are permuted; where they hold several, as in paired
designs, the labels are permuted within the patient), and κ is chosen again in every split under each
permutation by the same rule, so choosing the best of many models on the same arrays does not fake a signal.
The models never saw their validation labels, so under "no signal" the pooled statistic is no larger than
under such a permutation; the splits' sharing of arrays, which makes independent per-split tests
anti-conservative (the variance of a mean over splits that share arrays is ``(1/J + n_val/n_train) s²``,
Nadeau & Bengio 2003, Machine Learning 52:239; :func:`corrected_t`), is kept in the null because the same
array carries the same permuted label everywhere. The p-value is ``(1 + #{null >= observed}) / (1 + B)``.

The test this replaces (until 2026-12-04) standardised each split's accuracy gain against its own
validation-part permutations and pooled them by a corrected t-test and by twice the median p-value: with a
dozen or two validation arrays per split it had too little power (GDSSIM1, 90 arrays, six planted genes:
p 0.157). ``benchmarks/signal_power.py`` measures both (``benchmarks/RESULTS.md``).

Where the test finds no signal, the genes stay ranked (the list is marked ``no evidence of class signal``)
and the metrics predict the training majority class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from genesel.progress import progress

#: a split's choice where no model could be fitted
NO_MODEL = -1
#: a split's choice where its models do not beat the class prior: no gene, the majority class is predicted
CLASS_PRIOR = -2


def class_prior(y_train: np.ndarray, n_classes: int) -> np.ndarray:
    """``(S, C)``: the class frequencies of each split's training labels ``(S, n_train)`` (the gene-free model)."""
    return np.stack([np.bincount(labels, minlength=n_classes) / len(labels) for labels in np.asarray(y_train)])


@dataclass
class ValidationScores:
    """Per (..., split, model) scores of validation predictions; NaN where a model has none."""

    acc: np.ndarray  # accuracy
    loss: np.ndarray  # mean log-loss
    loss_se: np.ndarray  # its standard error over the arrays
    gain: np.ndarray  # mean over arrays of log p_model(y) - log p_prior(y)
    gain_se: np.ndarray  # its (paired) standard error
    majority: np.ndarray  # (..., split): accuracy of the training majority class
    prob_gain: np.ndarray | None = None  # mean over arrays of p_model(y) - p_prior(y)
    balanced: np.ndarray | None = None  # balanced accuracy (mean recall over the classes present)
    balanced_majority: np.ndarray | None = None  # (..., split): that of the training majority class


def validation_scores(proba: np.ndarray, y: np.ndarray, prior: np.ndarray) -> ValidationScores:
    """Scores of ``proba (S, K, n, C)`` against labels ``y (..., S, n)`` (a leading axis: permutations),
    with ``prior (S, C)`` the training class frequencies."""
    S, K, n, _ = proba.shape
    lead = y.shape[:-2]
    index = (np.arange(S)[:, None, None], np.arange(K)[None, :, None], np.arange(n)[None, None, :])
    p_y = proba[index + (y[..., :, None, :],)].astype(np.float64)  # (..., S, K, n)
    per_array = -np.log(np.clip(p_y, 1e-12, 1.0))
    prior_y = np.take_along_axis(np.broadcast_to(prior, lead + prior.shape), y, -1)  # (..., S, n)
    prior_loss = -np.log(np.clip(prior_y, 1e-12, 1.0))
    gain = prior_loss[..., None, :] - per_array
    missing = np.isnan(proba).any(axis=(2, 3))  # (S, K)
    with np.errstate(invalid="ignore"):
        correct = (proba.argmax(-1) == y[..., :, None, :]).astype(float)
        se = (lambda a: a.std(-1, ddof=1) / np.sqrt(n)) if n > 1 else (lambda a: np.full(a.shape[:-1], np.nan))
        acc, loss, loss_se = correct.mean(-1), per_array.mean(-1), se(per_array)
        gain_mean, gain_se = gain.mean(-1), se(gain)
        prob_gain = (p_y - prior_y[..., None, :]).mean(-1)
        onehot = y[..., None] == np.arange(proba.shape[-1])  # (..., S, n, C)
        present = onehot.sum(-2)  # (..., S, C)
        recall = np.einsum("...skn,...snc->...skc", correct, onehot) / np.maximum(present, 1)[..., None, :]
        balanced = recall.sum(-1) / (present > 0).sum(-1)[..., None]
        balanced_majority = np.take_along_axis(present > 0, prior.argmax(1)[:, None] + 0 * present[..., :1], -1)[..., 0]
        balanced_majority = balanced_majority / (present > 0).sum(-1)
    nan = lambda a: np.where(missing, np.nan, a)  # noqa: E731
    majority = (prior.argmax(1)[:, None] == y).mean(-1)
    return ValidationScores(nan(acc), nan(loss), nan(loss_se), nan(gain_mean), nan(gain_se), majority, nan(prob_gain),
                            nan(balanced), balanced_majority)


class SignalTested:
    """For a trainer's result with validation predictions of every (split, model): κ (or the grid point)
    chosen per split, then the test over splits, which decides whether the chosen models or the class prior
    predict. Needs ``val_proba (S, M, n_val, C)``, ``y_val``, ``prior (S, C)``, ``test_proba``,
    ``signal_alpha``, ``signal_permutations``, ``seed`` and a ``choose_per_split(scores=None)``; the test
    permutes labels once for all splits where ``val_index`` (``(S, n_val)`` rows of the dataset) is set,
    patients together where ``groups`` (one per dataset row) is set."""

    val_index: np.ndarray | None = None
    groups: np.ndarray | None = None

    @property
    def validation(self) -> ValidationScores:
        if "_validation" not in self.__dict__:
            self.__dict__["_validation"] = validation_scores(self.val_proba, self.y_val, self.prior)
        return self.__dict__["_validation"]

    def choose(self) -> np.ndarray:
        """Each split's chosen model (:meth:`choose_per_split`). The test over splits does not change it: the
        genes stay ranked where it finds no signal (:meth:`signal_shown`), only the predictions fall back."""
        return self.choose_per_split()

    def signal_shown(self) -> bool:
        """Whether the chosen models predict better than the class prior over the splits (:meth:`signal`,
        p at most ``signal_alpha``); True where the test is off or no split has a model."""
        if self.signal_alpha is None or not (self.choose_per_split() >= 0).any():
            return True
        return bool(self.signal()[1] <= self.signal_alpha)

    def signal(self) -> tuple[float, float]:
        """The chosen models' pooled validation gain beyond chance and its p-value (:func:`signal_pvalue`)."""
        key = (getattr(self, "rule", None), getattr(self, "prior_margin_se", None), self.signal_permutations, self.seed)
        cache = self.__dict__.setdefault("_signal", {})
        if key not in cache:
            cache[key] = signal_pvalue(self.val_proba, self.y_val, self.prior, self.choose_per_split,
                                       self.signal_permutations, self.seed, val_index=self.val_index,
                                       groups=self.groups)
        return cache[key]

    def chosen_test_proba(self, chosen: np.ndarray) -> np.ndarray:
        """``(S, n_test, C)`` test probabilities of the chosen models: the class prior where a split chose
        :data:`CLASS_PRIOR` or the test over splits found no signal, NaN where it has :data:`NO_MODEL`."""
        S = len(chosen)
        proba = self.test_proba[np.arange(S), np.maximum(chosen, 0)].copy()
        proba[chosen == NO_MODEL] = np.nan
        prior = (chosen == CLASS_PRIOR) | ((chosen >= 0) & (not self.signal_shown()))
        proba[prior] = self.prior[prior][:, None, :]
        return proba


def signal_pvalue(proba: np.ndarray, y: np.ndarray, prior: np.ndarray,
                  choose: Callable[[ValidationScores], np.ndarray], n_permutations: int = 999, seed: int = 0,
                  chunk: int = 100, val_index: np.ndarray | None = None, groups: np.ndarray | None = None,
                  statistic: str = "accuracy") -> tuple[float, float]:
    """The chosen models' validation gain over the class prior pooled over the splits, beyond what choosing
    among the models on the same arrays gives by chance (observed minus the permutation mean), and its
    permutation p-value (see the module docstring). ``statistic``: ``"accuracy"`` (accuracy minus the
    majority class's), ``"balanced"`` (balanced accuracy minus the majority class's) or ``"probability"``
    (the probability of the true class minus its training frequency); ``benchmarks/signal_power.py`` compares them.
    ``choose`` maps scores to each split's chosen model (``(..., S)``; :data:`CLASS_PRIOR` or
    :data:`NO_MODEL` where there is no model). ``val_index`` ``(S, n)``: the dataset rows of the validation
    arrays (None: each split's arrays are its own, permuted within the split); ``groups``: the patient of
    each dataset row. NaN, 1.0 where no split has a model or the permutations cannot change the statistic."""
    observed = _pooled_gain(validation_scores(proba, y, prior), choose, statistic)
    rng = np.random.default_rng(seed)
    permute = _label_permutations(y, val_index, groups)
    null = np.concatenate([_pooled_gain(validation_scores(proba, permute(rng, min(chunk, n_permutations - done)), prior),
                                        choose, statistic)
                           for done in progress(range(0, n_permutations, chunk),
                                                desc=f"signal test (chunks of {chunk} permutations)")])
    if not np.isfinite(observed) or null.std() <= 1e-12:
        return float("nan"), 1.0
    p = (1 + np.sum(null >= observed - 1e-12)) / (1 + len(null))
    return float(observed - null.mean()), float(p)


def _pooled_gain(scores: ValidationScores, choose: Callable[[ValidationScores], np.ndarray], statistic: str) -> np.ndarray:
    """``(...)``: the chosen models' gain over the class prior, mean over splits with a model (each split
    holds as many validation arrays, so this is the mean over every (split, array) pair)."""
    if statistic not in ("probability", "accuracy", "balanced"):
        raise ValueError(f"statistic must be 'accuracy', 'balanced' or 'probability', got {statistic!r}")
    chosen = choose(scores)
    at = np.maximum(chosen, 0)[..., None]
    if statistic == "accuracy":
        gain = np.take_along_axis(scores.acc, at, -1)[..., 0] - scores.majority
    elif statistic == "balanced":
        gain = np.take_along_axis(scores.balanced, at, -1)[..., 0] - scores.balanced_majority
    else:
        gain = np.take_along_axis(scores.prob_gain, at, -1)[..., 0]
    gain = np.where(chosen == NO_MODEL, np.nan, np.where(chosen >= 0, gain, 0.0))
    count = np.isfinite(gain).sum(-1)
    return np.where(count > 0, np.nansum(gain, -1) / np.maximum(count, 1), np.nan)


def _label_permutations(y: np.ndarray, val_index: np.ndarray | None, groups: np.ndarray | None):
    """A function ``(rng, B) -> (B, S, n)`` of permuted validation labels (see :func:`signal_pvalue`)."""
    y = np.asarray(y)
    if val_index is None:
        def within_splits(rng, B):
            order = np.argsort(rng.random((B,) + y.shape), axis=-1)
            return np.take_along_axis(np.broadcast_to(y, (B,) + y.shape), order, -1)
        return within_splits
    rows, at = np.unique(np.asarray(val_index), return_inverse=True)
    at = at.reshape(y.shape)
    labels = np.empty(len(rows), dtype=y.dtype)
    labels[at.ravel()] = y.ravel()
    if not np.array_equal(labels[at], y):
        raise ValueError("an array carries different labels in different splits")
    group = (np.arange(len(rows)) if groups is None else np.unique(np.asarray(groups)[rows], return_inverse=True)[1])
    n_labels = np.array([len(np.unique(labels[group == g])) for g in range(group.max() + 1)])
    whole = n_labels[group] == 1  # arrays of single-label patients: the patients' labels are permuted
    g_whole = np.unique(group[whole])
    g_label = np.array([labels[group == g][0] for g in g_whole], dtype=labels.dtype)
    slot = np.searchsorted(g_whole, group[whole])
    mixed = np.flatnonzero(~whole)  # patients with several labels: permuted within the patient
    base = mixed[np.argsort(group[mixed], kind="stable")]

    def whole_resampling(rng, B):
        out = np.broadcast_to(labels, (B, len(labels))).copy()
        if len(g_whole):
            shuffled = np.take_along_axis(np.broadcast_to(g_label, (B, len(g_label))),
                                          np.argsort(rng.random((B, len(g_label))), axis=-1), -1)
            out[:, whole] = shuffled[:, slot]
        if len(mixed):
            order = np.argsort(group[mixed][None, :] + rng.random((B, len(mixed))), axis=-1)
            out[:, base] = labels[mixed][order]
        return out[:, at]

    return whole_resampling


def corrected_t(values: np.ndarray, test_to_train: float) -> tuple[float, float, int]:
    """Mean of per-split ``values`` over ``J`` random splits that share arrays, its standard error and
    degrees of freedom for the corrected resampled t-test (Nadeau & Bengio 2003, Machine Learning 52:239):
    ``sqrt((1/J + n_test/n_train) s²)`` rather than ``s/√J``, with ``test_to_train`` the ratio of the held-out
    part (validation or test) to the training part. The variance is floored at 1e-12, so equal values give
    a finite t."""
    values = np.asarray(values, dtype=np.float64)
    J = len(values)
    se = float(np.sqrt((1 / J + test_to_train) * max(values.var(ddof=1), 1e-12)))
    return float(values.mean()), se, J - 1
