"""Repeated stratified 60/20/20 splits."""

from __future__ import annotations

import numpy as np
import pytest

from genesel.splits import PARTS, load_splits, make_splits, n_splits_in, save_splits, split_indices, stratified_split


@pytest.fixture
def labels():
    return np.repeat([0, 1, 2, 3], [50, 30, 12, 3])


def test_parts_disjoint_cover_and_stratified(labels):
    ids = [f"S{i}" for i in range(len(labels))]
    splits = make_splits(ids, labels, n_splits=20, seed=3)
    assert n_splits_in(splits) == 20
    for k in range(20):
        parts = split_indices(splits, k)
        together = np.concatenate([parts[p] for p in PARTS])
        assert sorted(together) == list(range(len(labels)))  # disjoint and complete
        for p in PARTS:
            assert set(labels[parts[p]]) == {0, 1, 2, 3}  # every class in every part
        assert abs(len(parts["train"]) / len(labels) - 0.6) < 0.05
        for c, n in zip(range(3), (50, 30, 12)):
            assert abs(np.sum(labels[parts["test"]] == c) - 0.2 * n) <= 1


def test_seeded_and_varied(labels):
    ids = [f"S{i}" for i in range(len(labels))]
    a = make_splits(ids, labels, n_splits=5, seed=1)
    b = make_splits(ids, labels, n_splits=5, seed=1)
    c = make_splits(ids, labels, n_splits=5, seed=2)
    assert a.equals(b) and not a.equals(c)
    assert not a["split_00"].equals(a["split_01"])


def test_class_of_two_is_rejected():
    with pytest.raises(ValueError, match="has 2 sample"):
        stratified_split(np.array([0, 0, 0, 1, 1]))


def test_file_round_trip(tmp_path, labels):
    ids = [f"S{i}" for i in range(len(labels))]
    splits = make_splits(ids, labels, n_splits=3)
    loaded = load_splits(save_splits(splits, tmp_path / "splits.tsv"))
    assert loaded.equals(splits)
    shuffled = list(reversed(ids))
    parts = split_indices(loaded, 1, shuffled)
    assert [shuffled[i] for i in parts["test"]] == [s for s in shuffled if loaded.set_index("sample_id").loc[s, "split_01"] == "test"]
