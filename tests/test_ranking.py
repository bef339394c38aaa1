"""Consensus ranking over splits, per-gene statistics, and the accuracy summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from genesel.compare import planted_recovery
from genesel.dataset import Dataset
from genesel.errors import DatasetError
from genesel.limma import moderated_test
from genesel.ranking import class_statistics, gene_table, heldout_pvalues, rank_genes, split_ranks
from genesel.splits import make_splits, split_indices
from genesel.summary import majority_rates, paired_differences, summarize, to_markdown


def toy(n=40, p=6, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.lognormal(7, 0.3, (n, p))
    X[y == 1, 0] *= 4.0  # probe 0: up two log2 units in class b
    return Dataset("TOY", X, [f"p{i}" for i in range(p)], ["A", "B", "A", "", "C", "D"][:p], [f"S{i}" for i in range(n)], y, ["a", "b"])


def test_split_ranks_average_ties():
    ranks = split_ranks(np.array([[0.5, 0.0, 0.9, 0.0]]))
    assert ranks.tolist() == [[2.0, 3.5, 1.0, 3.5]]


def test_rank_genes_orders_by_frequency_then_score():
    data = toy()
    scores = np.array([[0.9, 0.1, 0.0, 0.5, 0.0, 0.0], [0.8, 0.0, 0.0, 0.6, 0.2, 0.0], [0.0, 0.0, 0.0, 0.7, 0.0, 0.0]])
    table = rank_genes(scores, scores > 0.05, data)
    assert table.probe_id.tolist()[:3] == ["p3", "p0", "p4"]  # 3/3 splits, then 2/3 (higher mean), ...
    row = table.set_index("probe_id").loc["p0"]
    assert row.selection_frequency == 2 / 3 and np.isclose(row.score, 1.7 / 3)
    assert row.median_rank == 1.0
    assert table["rank"].tolist()[:4] == [1, 2, 3, 4]
    # genes no split selected get no rank: they read "not selected"
    assert table["rank"].isna().tolist() == [False] * 4 + [True] * 2
    assert table.status.tolist() == ["selected"] * 4 + ["not selected"] * 2
    assert table.set_index("probe_id").loc["p1", "gene_symbol"] == "B"  # several probes of a gene stay separate


def test_class_statistics_fold_change_direction_and_fdr():
    data = toy()
    table = class_statistics(data)
    assert np.isclose(table.loc[0, "log2fc_b_vs_a"], 2.0, atol=0.3)  # up in b, against the reference a
    flipped = class_statistics(data.reorder_classes(["b"]))
    assert np.isclose(flipped.loc[0, "log2fc_a_vs_b"], -table.loc[0, "log2fc_b_vs_a"])
    np.testing.assert_allclose(flipped.p_descriptive, table.p_descriptive)
    # the values themselves are checked against Bioconductor limma in tests/test_limma.py (class_statistics);
    # here: the q-values are Benjamini-Hochberg's of the p-values beside them, and the planted probe leads
    np.testing.assert_allclose(table.q_descriptive, stats.false_discovery_control(table.p_descriptive), rtol=1e-12)
    assert table.q_descriptive[0] < 1e-6 and table.moderated_t[0] > 5 and (table.q_descriptive[1:] > 0.01).all()


def test_reorder_classes_names_the_reference_first():
    data = toy()
    assert data.reorder_classes(["b"]).class_names == ["b", "a"]
    assert data.reorder_classes(["b"]).labels().tolist() == data.labels().tolist()
    with pytest.raises(DatasetError, match="TOY: class 'c'.*not one of the classes 'a', 'b'"):
        data.reorder_classes(["c"])


def test_heldout_pvalues_come_from_test_arrays_and_pay_for_the_selection():
    """A gene's held-out p is 1 unless selected; Bonferroni by the split's selection size; 2 x median."""
    data = toy(n=60, p=6)
    splits = make_splits(data.sample_ids, data.y, n_splits=4, seed=1)
    tests = [split_indices(splits, k, data.sample_ids)["test"] for k in range(4)]
    selected = np.zeros((4, 6), dtype=bool)
    selected[:, 0] = True  # the real difference, chosen everywhere
    selected[:2, 1] = True  # noise, chosen in half of the splits
    p = heldout_pvalues(data, tests, selected)
    assert p[0] < 0.01 and p[1] == 1.0 and (p[2:] == 1.0).all()
    logged = np.log2(data.X.astype(np.float64))
    per_split = [min(1.0, moderated_test(logged[t], data.y[t]).p_value[0] * selected[k].sum())
                 for k, t in enumerate(tests)]
    assert p[0] == pytest.approx(min(1.0, 2 * np.median(per_split)))


def test_gene_table_adds_stability_columns():
    from genesel.results import MethodResult
    from genesel.stability import StabilityResult

    data = toy()
    scores = np.array([[0.9, 0.1, 0.0, 0.5, 0.0, 0.0], [0.8, 0.0, 0.0, 0.6, 0.2, 0.0]])
    result = MethodResult("m", pd.DataFrame(), scores, scores > 0.05, pd.DataFrame(), pd.DataFrame())
    stability = StabilityResult("m", np.array([0.9, 0.1, 0.0, 0.8, 0.3, 0.0]), np.zeros((2, 6)), 2, 2.0, 0.75, 1.0, 5, {})
    table = gene_table(result, data, stability=stability).set_index("probe_id")
    assert table.stable.tolist() == [True, True, False, False, False, False]  # p0, p3 in rank order
    assert table.loc["p0", "status"] == "stable" and table.loc["p4", "status"] == "selected"
    assert table.loc["p3", "selection_probability"] == 0.8
    assert "signal_p" not in table  # a method without the test over splits


def test_a_gene_no_stability_half_kept_has_no_rank_and_follows_the_ranked_genes():
    """As in the report's candidate table: selected in some split but selection probability 0 -> no rank, the
    status says why, it is listed after every ranked gene and before the genes no split selected; the ranks of
    the others close up (1, 2, 3 in consensus order); a method without the signal test's evidence keeps the why."""
    from genesel.ranking import NO_HALF, NO_SIGNAL, NOT_SELECTED, ranks
    from genesel.results import MethodResult
    from genesel.stability import StabilityResult

    data = toy()
    scores = np.array([[0.9, 0.1, 0.0, 0.5, 0.0, 0.0], [0.8, 0.0, 0.0, 0.6, 0.2, 0.0]])
    plain = gene_table(MethodResult("m", pd.DataFrame(), scores, scores > 0.05, pd.DataFrame(), pd.DataFrame()), data)
    assert plain.probe_id.tolist()[:4] == ["p0", "p3", "p4", "p1"]  # consensus order, p4 ranked 3rd
    stability = StabilityResult("m", np.array([0.9, 0.2, 0.0, 0.8, 0.0, 0.0]), np.zeros((2, 6)), 2, 2.0, 0.75, 1.0, 5, {})
    table = gene_table(MethodResult("m", pd.DataFrame(), scores, scores > 0.05, pd.DataFrame(), pd.DataFrame()),
                       data, stability=stability)
    assert table.probe_id.tolist()[:4] == ["p0", "p3", "p1", "p4"]
    assert table["rank"].tolist()[:3] == [1, 2, 3] and table["rank"].iloc[3:].isna().all()
    assert table.status.tolist() == ["stable", "stable", "selected", NO_HALF, NOT_SELECTED, NOT_SELECTED]
    assert ranks(table)[["p0", "p3", "p1"]].tolist() == [1.0, 2.0, 3.0] and ranks(table)[["p4", "p2", "p5"]].isna().all()
    assert table.selection_frequency.iloc[3] == 0.5  # what the main splits did is still shown
    metrics = pd.DataFrame({"split": [0, 1], "signal_p": [0.37, 0.37], "signal": [NO_SIGNAL] * 2})
    noise = gene_table(MethodResult("m", metrics, scores, scores > 0.05, pd.DataFrame(), pd.DataFrame()), data,
                       stability=stability)
    assert noise.status.tolist() == [NO_SIGNAL] * 3 + [NO_HALF, NOT_SELECTED, NOT_SELECTED]


def test_a_list_without_class_signal_stays_ranked_and_says_treat_it_as_noise():
    from genesel.ranking import NO_SIGNAL, NOT_SELECTED, no_signal_note
    from genesel.results import MethodResult

    data = toy()
    scores = np.array([[0.9, 0.1, 0.0, 0.5, 0.0, 0.0], [0.8, 0.0, 0.0, 0.6, 0.2, 0.0]])
    metrics = pd.DataFrame({"split": [0, 1], "signal_p": [0.37, 0.37], "signal": [NO_SIGNAL] * 2})
    noise = gene_table(MethodResult("m", metrics, scores, scores > 0.05, pd.DataFrame(), pd.DataFrame()), data)
    assert noise["rank"].notna().sum() == 4 and (noise["signal_p"] == 0.37).all()
    assert set(noise.status) == {NO_SIGNAL, NOT_SELECTED}
    assert (noise.status == NO_SIGNAL).sum() == 4
    shown = gene_table(MethodResult("s", metrics.assign(signal="shown", signal_p=0.01), scores, scores > 0.05,
                                    pd.DataFrame(), pd.DataFrame()), data)
    assert set(shown.status) == {"selected", NOT_SELECTED}
    note = no_signal_note({"m": noise, "s": shown})
    assert note == "m: no evidence of class signal (signal p 0.37): treat these genes as noise."


@pytest.mark.parametrize("value_type, factor", [("log10 ratio", np.log2(10)), ("loge ratio", 1 / np.log(2)),
                                                ("log2 ratio", 1.0), ("transformed count", 1.0)])
def test_fold_changes_are_log2_whatever_log_the_gds_declares(value_type, factor):
    """A GDS of log10 (or natural-log) ratios gets fold changes in log2 units, as the columns say."""
    from dataclasses import replace

    data = toy()
    log2_values = np.log2(data.X.astype(np.float64))
    declared = replace(data, X=(log2_values / factor).astype(np.float32), metadata={"value_type": value_type})
    table = class_statistics(declared)
    expected = class_statistics(replace(data, X=log2_values.astype(np.float32), metadata={}))
    np.testing.assert_allclose(table.log2fc_b_vs_a, expected.log2fc_b_vs_a, rtol=1e-4)


def test_summary_and_majority_rate():
    data = toy()
    splits = make_splits(data.sample_ids, data.y, n_splits=3)
    rates = majority_rates(data, splits)
    assert np.allclose(rates, 0.5)  # balanced classes, stratified test parts
    metrics = pd.DataFrame({
        "dataset": "TOY", "method": ["m1"] * 3 + ["m2"] * 3, "split": [0, 1, 2] * 2,
        "accuracy": [0.8, 0.9, 1.0, 0.5, 0.5, 0.6], "balanced_accuracy": [0.8, 0.9, 1.0, 0.5, 0.5, 0.6],
        "macro_f1": 0.5, "n_selected": [3, 4, 5, 10, 10, 10], "seconds": 1.0, "converged": [True, True, False] + [True] * 3,
    })
    table = summarize(metrics, {"TOY": float(rates.mean())})
    m1 = table.set_index("method").loc["m1"]
    assert np.isclose(m1.accuracy_mean, 0.9) and np.isclose(m1.accuracy_sd, 0.1) and m1.genes_selected_mean == 4
    assert np.isclose(m1.converged_share, 2 / 3)
    assert "| TOY | m1 | 0.900 ± 0.100 |" in to_markdown(table)


def test_planted_recovery_counts_each_kind_in_the_top_k():
    truth = pd.DataFrame({"probe_id": ["a", "b", "c", "d"], "kind": ["linear", "linear", "xor", "variance"]})
    ranked = pd.DataFrame({"rank": np.arange(1, 9), "probe_id": ["a", "x1", "c", "x2", "b", "x3", "d", "x4"]})
    table = planted_recovery({"m": ranked}, truth, dataset="SIM").set_index("kind")
    assert table.loc["linear", "recovered_in_top_k"] == 1 and table.loc["linear", "best_rank"] == 1  # b is 5th
    assert table.loc["xor", "recovered_in_top_k"] == 1 and table.loc["variance", "recovered_in_top_k"] == 0
    assert table.loc["all", "recovered_in_top_k"] == 2 and (table.k == 4).all()
    assert table.loc["linear", "median_rank"] == 3.0
    unranked = ranked.assign(rank=pd.array([1, 2, 3, 4, 5, 6, pd.NA, pd.NA], dtype="Int64"))
    table = planted_recovery({"m": unranked}, truth).set_index("kind")  # d never selected: not in the top 4
    assert table.loc["variance", "never_selected"] == 1 and pd.isna(table.loc["variance", "best_rank"])
    assert table.loc["variance", "no_half_kept"] == 0
    # a gene some split selected but no stability half kept has no rank either: not in the top k, counted apart
    kept = pd.DataFrame({"rank": pd.array([1, 2, 3, 4, 5, 6, 7, pd.NA], dtype="Int64"),
                         "probe_id": ["a", "x1", "x2", "b", "x3", "d", "x4", "c"],
                         "selection_frequency": [1.0, 1.0, 0.9, 0.8, 0.8, 0.5, 0.1, 0.9],
                         "selection_probability": [1.0, 0.5, 0.4, 0.9, 0.3, 0.2, 0.1, 0.0]})  # c: no half kept it
    table = planted_recovery({"m": kept}, truth).set_index("kind")
    assert table.loc["xor", "recovered_in_top_k"] == 0 and table.loc["xor", "no_half_kept"] == 1
    assert table.loc["xor", "never_selected"] == 0 and pd.isna(table.loc["xor", "best_rank"])
    assert table.loc["linear", "recovered_in_top_k"] == 2  # b moved up to rank 4 = k
    assert table.loc["all", "no_half_kept"] == 1 and table.loc["all", "never_selected"] == 0
    with pytest.raises(DatasetError, match="SIM: planted probe.*'d'.* m gene table"):
        planted_recovery({"m": ranked[ranked.probe_id != "d"]}, truth, dataset="SIM")


def test_topk_figure_labels_only_the_k_values(tmp_path, monkeypatch):
    """The log x axis shows the k values and no minor labels (which overlapped as 3x10^1 4x10^1)."""
    import pandas as pd

    from genesel import figures

    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, path, caption="": drawn.append(fig))
    ks = [10, 20, 30, 50]  # within one decade, where matplotlib labels minor ticks
    table = pd.DataFrame([{"method": m, "split": s, "classifier": "svc", "k": k, "accuracy": 0.8}
                          for m in ("spred", "l1_logistic") for s in (0, 1) for k in ks])
    figures.plot_topk(table, "GDSX", tmp_path / "topk.svg")
    ax = drawn[0].axes[0]
    drawn[0].canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(k) for k in ks]
    assert all(not t.get_text() for t in ax.get_xticklabels(minor=True))


def test_relaxed_refit_scores_the_selected_genes_only():
    from genesel.experiment import relaxed_refit
    from genesel.preprocess import stack_splits

    data = toy(n=60, p=6)
    stacked = stack_splits(data, make_splits(data.sample_ids, data.y, n_splits=3, seed=0))
    selected = np.zeros((3, 6), dtype=bool)
    selected[0, 0] = True  # the informative probe
    selected[1, 1:] = True  # only noise
    metrics = pd.DataFrame({"split": [0, 1, 2], "failed": [False, False, False]})
    out = relaxed_refit(stacked, selected, metrics)
    assert out.accuracy_relaxed[0] > 0.9 and out.accuracy_relaxed[1] < out.accuracy_relaxed[0]
    assert np.isnan(out.accuracy_relaxed[2]) and np.isnan(out.relaxed_C[2])  # no gene selected: nothing to refit
    assert set(out.relaxed_C[:2]) <= {0.01, 0.1, 1.0, 10.0}


def test_paired_differences_widen_the_t_test_over_splits_and_skip_unfitted_splits():
    """The corrected t statistic is the plain paired one shrunk by sqrt(1 + J n_test/n_train), on the splits
    both methods fitted; the comparison is antisymmetric, equal methods give p = 1, a difference that is the
    same on every split has no p (not a tiny one), and intervals stay within [-1, 1]."""
    a, b = [0.80, 0.90, 0.85, 0.70, 0.95], [0.75, 0.80, 0.90, 0.60, 0.30]
    metrics = pd.DataFrame({"dataset": "TOY", "method": ["m1"] * 5 + ["m2"] * 5 + ["m3"] * 5, "split": list(range(5)) * 3,
                            "accuracy": a + b + a, "failed": [False] * 9 + [True] + [False] * 5})
    table = paired_differences(metrics, {"TOY": 0.25}).set_index(["method", "versus"])
    assert len(table) == 6 and table.splits.to_dict() == {("m1", "m2"): 4, ("m1", "m3"): 5, ("m2", "m1"): 4,
                                                           ("m2", "m3"): 4, ("m3", "m1"): 5, ("m3", "m2"): 4}
    plain = stats.ttest_rel(a[:4], b[:4])
    row = table.loc[("m1", "m2")]
    assert np.isclose(row.difference, np.mean(np.subtract(a[:4], b[:4])))
    corrected = plain.statistic / np.sqrt(1 + 4 * 0.25)
    assert np.isclose(row.difference / row.se, corrected)
    assert np.isclose(row.p, 2 * stats.t.sf(abs(corrected), 3)) and row.p > plain.pvalue
    assert row.ci_low < row.difference < row.ci_high
    back = table.loc[("m2", "m1")]
    assert np.isclose(back.difference, -row.difference) and np.isclose(back.p, row.p)
    assert table.loc[("m1", "m3")].difference == 0 and table.loc[("m1", "m3")].p == 1.0
    shifted = pd.DataFrame({"dataset": "TOY", "method": ["m1"] * 5 + ["m2"] * 5, "split": list(range(5)) * 2,
                            "accuracy": a + [v - 0.05 for v in a]})
    row = paired_differences(shifted, {"TOY": 0.25}).set_index(["method", "versus"]).loc[("m1", "m2")]
    assert np.isclose(row.difference, 0.05) and np.isnan(row.p) and np.isnan(row.se)  # no spread: no test
    wide = paired_differences(metrics.query("split < 2"), {"TOY": 0.25}).set_index(["method", "versus"])
    assert wide.ci_low.min() >= -1 and wide.ci_high.max() <= 1  # 2 splits: t(1) intervals, clipped


def test_paired_differences_hold_their_level_where_a_test_over_splits_does_not():
    """Two equally good classifiers (nearest class mean on one of two equally informative genes), 20 random
    60/20/20 splits of each of 200 simulated studies: the corrected test rejects near its level, the plain
    paired t-test over the splits (which ignores that they share arrays) far more often."""
    rng = np.random.default_rng(0)
    rejected = {"corrected": 0, "plain": 0}
    for study in range(200):
        y = np.repeat([0, 1], 30)
        X = rng.normal(size=(60, 2)) + 0.8 * y[:, None]
        splits = make_splits(np.array([f"a{i}" for i in range(60)]), y, n_splits=20, seed=study)
        rows = []
        for k in range(20):
            part = splits[f"split_{k:02d}"].to_numpy()
            train, test = part == "train", part == "test"
            for gene, method in enumerate(("A", "B")):
                means = [X[train & (y == c), gene].mean() for c in (0, 1)]
                predicted = np.abs(X[test, gene] - means[1]) < np.abs(X[test, gene] - means[0])
                rows.append({"dataset": "SIM", "method": method, "split": k, "accuracy": np.mean(predicted == y[test])})
        rows = pd.DataFrame(rows)
        ratio = np.mean(splits.split_00 == "test") / np.mean(splits.split_00 == "train")
        compared = paired_differences(rows, {"SIM": ratio}).set_index("method")
        rejected["corrected"] += compared.loc["A", "p"] < 0.05
        wide = rows.pivot(index="split", columns="method", values="accuracy")
        rejected["plain"] += stats.ttest_rel(wide.A, wide.B).pvalue < 0.05
    assert rejected["corrected"] <= 18 and rejected["plain"] >= 50, rejected
