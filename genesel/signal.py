"""Does a method's validation part show signal? Scores of held-out predictions against the class prior,
and a test of them pooled over the splits.

A dozen validation arrays cannot tell one split's weak signal from none: any per-split test either keeps
noise models or throws away real ones (measured in ``benchmarks/RESULTS.md``). Whether a set carries signal
for a method is a property of the set, so the evidence is pooled over the splits, in two steps:

1. Per split, the chosen model's validation accuracy minus that of the training arrays' majority class
   (zero where the split chose the class prior), standardised against its permutation null: the
   validation labels permuted and the hyperparameter chosen again by the same rule, so choosing the best
   of many models on the same arrays does not fake a signal. The models never saw the validation labels,
   so under "no signal" those labels are exchangeable given the predictions.
2. Over splits, two combinations, each valid although the splits share arrays:

   - a one-sided corrected resampled t-test of those standardised gains (Nadeau & Bengio 2003, Machine
     Learning 52:239): the gains are correlated, and the variance of their mean is ``(1/J + n_val/n_train) s²``
     rather than ``s²/J``. Without that correction the label-permuted colon set "showed signal" in 4 of 5
     permutations (``benchmarks/RESULTS.md``). It pools weak evidence from small validation parts well, but
     the spread of the gains enters its denominator: a few splits in which the model learnt nothing sink it;
   - twice the median of the splits' permutation p-values (the quantile aggregation of multi-split p-values,
     Meinshausen, Meier & Bühlmann 2009, JASA 104:1671; valid under any dependence between the splits). It
     needs half the splits to show signal on their own, which large validation parts do.

   The p-value is twice the smaller of the two (Bonferroni), so a set passes if either finds signal.

With one split, the p-value is that split's permutation p-value, ``(1 + #{gain_perm >= gain}) / (1 + B)``.
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


def validation_scores(proba: np.ndarray, y: np.ndarray, prior: np.ndarray) -> ValidationScores:
    """Scores of ``proba (S, K, n, C)`` against labels ``y (..., S, n)`` (a leading axis: permutations),
    with ``prior (S, C)`` the training class frequencies."""
    S, K, n, _ = proba.shape
    lead = y.shape[:-2]
    index = (np.arange(S)[:, None, None], np.arange(K)[None, :, None], np.arange(n)[None, None, :])
    p_y = proba[index + (y[..., :, None, :],)].astype(np.float64)  # (..., S, K, n)
    per_array = -np.log(np.clip(p_y, 1e-12, 1.0))
    prior_loss = -np.log(np.clip(np.take_along_axis(np.broadcast_to(prior, lead + prior.shape), y, -1), 1e-12, 1.0))
    gain = prior_loss[..., None, :] - per_array
    missing = np.isnan(proba).any(axis=(2, 3))  # (S, K)
    with np.errstate(invalid="ignore"):
        correct = (proba.argmax(-1) == y[..., :, None, :]).astype(float)
        se = (lambda a: a.std(-1, ddof=1) / np.sqrt(n)) if n > 1 else (lambda a: np.full(a.shape[:-1], np.nan))
        acc, loss, loss_se = correct.mean(-1), per_array.mean(-1), se(per_array)
        gain_mean, gain_se = gain.mean(-1), se(gain)
    nan = lambda a: np.where(missing, np.nan, a)  # noqa: E731
    majority = (prior.argmax(1)[:, None] == y).mean(-1)
    return ValidationScores(nan(acc), nan(loss), nan(loss_se), nan(gain_mean), nan(gain_se), majority)


class SignalTested:
    """For a trainer's result with validation predictions of every (split, model): κ (or the grid point)
    chosen per split, then the test over splits, which sends every split to the class prior where it finds
    no signal. Needs ``val_proba (S, M, n_val, C)``, ``y_val``, ``prior (S, C)``, ``n_train``, ``test_proba``,
    ``signal_alpha``, ``signal_permutations``, ``seed`` and a ``choose_per_split(scores=None)``."""

    @property
    def validation(self) -> ValidationScores:
        if "_validation" not in self.__dict__:
            self.__dict__["_validation"] = validation_scores(self.val_proba, self.y_val, self.prior)
        return self.__dict__["_validation"]

    def choose(self) -> np.ndarray:
        """Each split's chosen model (:meth:`choose_per_split`); every split gets :data:`CLASS_PRIOR`
        where the chosen models show no signal over the splits (:meth:`signal`, p above ``signal_alpha``)."""
        chosen = self.choose_per_split()
        if self.signal_alpha is not None and (chosen >= 0).any() and self.signal()[1] > self.signal_alpha:
            chosen = np.where(chosen >= 0, CLASS_PRIOR, chosen)
        return chosen

    def signal(self) -> tuple[float, float]:
        """The chosen models' validation accuracy gain over the majority class beyond chance, and its
        p-value pooled over the splits (:func:`signal_pvalue`)."""
        key = (getattr(self, "rule", None), getattr(self, "prior_margin_se", None), self.signal_permutations, self.seed)
        cache = self.__dict__.setdefault("_signal", {})
        if key not in cache:
            cache[key] = signal_pvalue(self.val_proba, self.y_val, self.prior, self.n_train, self.choose_per_split,
                                       self.signal_permutations, self.seed)
        return cache[key]

    def chosen_test_proba(self, chosen: np.ndarray) -> np.ndarray:
        """``(S, n_test, C)`` test probabilities of the chosen models: the class prior where a split chose
        :data:`CLASS_PRIOR`, NaN where it has :data:`NO_MODEL`."""
        S = len(chosen)
        proba = self.test_proba[np.arange(S), np.maximum(chosen, 0)].copy()
        proba[chosen == NO_MODEL] = np.nan
        prior = chosen == CLASS_PRIOR
        proba[prior] = self.prior[prior][:, None, :]
        return proba


def signal_pvalue(proba: np.ndarray, y: np.ndarray, prior: np.ndarray, n_train: int,
                  choose: Callable[[ValidationScores], np.ndarray], n_permutations: int = 999,
                  seed: int = 0, chunk: int = 100) -> tuple[float, float]:
    """The chosen models' validation accuracy gain over the majority class beyond what choosing among the
    models on the same arrays gives by chance (per split, the observed gain minus its permutation mean;
    averaged over splits), and its p-value (see the module docstring). ``choose`` maps scores to each
    split's chosen model (``(..., S)``; :data:`CLASS_PRIOR` or :data:`NO_MODEL` where there is no model). Splits without a fitted model, or whose permutations
    cannot change the statistic (one validation array, constant predictions), are left out; NaN, 1.0
    where none is left."""
    observed = _chosen_gain(validation_scores(proba, y, prior), choose)  # (S,)
    rng = np.random.default_rng(seed)
    null = []
    for done in progress(range(0, n_permutations, chunk), desc=f"signal test (chunks of {chunk} permutations)"):
        B = min(chunk, n_permutations - done)
        order = np.argsort(rng.random((B,) + y.shape), axis=-1)
        permuted = np.take_along_axis(np.broadcast_to(y, (B,) + y.shape), order, -1)
        null.append(_chosen_gain(validation_scores(proba, permuted, prior), choose))
    null = np.concatenate(null)  # (B, S)
    spread = null.std(0)
    ok = np.isfinite(observed) & (spread > 1e-12)
    if not ok.any():
        return float("nan"), 1.0
    excess = observed - null.mean(0)
    gain = float(excess[ok].mean())
    per_split = (1 + (null >= observed - 1e-12).sum(0)) / (1 + len(null))  # (S,) permutation p-values
    if ok.sum() == 1:  # one split: its permutation p-value
        return gain, float(per_split[ok][0])
    from scipy.stats import t as student

    mean, se, df = corrected_t(excess[ok] / spread[ok], y.shape[-1] / n_train)
    pooled = student.sf(mean / se, df=df)
    quantile = 2 * np.median(per_split[ok])
    return gain, float(min(1.0, 2 * min(pooled, quantile)))


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


def _chosen_gain(scores: ValidationScores, choose: Callable[[ValidationScores], np.ndarray]) -> np.ndarray:
    """``(..., S)``: the chosen model's validation accuracy gain over the majority class (0 where a split
    chose the class prior, NaN where it has no model)."""
    chosen = choose(scores)
    gain = np.take_along_axis(scores.acc, np.maximum(chosen, 0)[..., None], -1)[..., 0] - scores.majority
    return np.where(chosen == NO_MODEL, np.nan, np.where(chosen >= 0, gain, 0.0))
