"""Repeated stratified 60/20/20 splits."""

from __future__ import annotations

import numpy as np
import pytest

from genesel.errors import DatasetError
from genesel.splits import (
    PARTS,
    load_splits,
    make_splits,
    n_splits_in,
    save_splits,
    split_indices,
    stratified_group_split,
    stratified_split,
)


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


def _patients(seed: int = 0):
    """Arrays nested in patients (1 to 5 arrays each), patients nested in three classes."""
    rng = np.random.default_rng(seed)
    y, groups = [], []
    for c, n_patients in enumerate([20, 12, 6]):
        for p in range(n_patients):
            k = int(rng.integers(1, 6))
            y += [c] * k
            groups += [f"c{c}p{p}"] * k
    return np.array(y), np.array(groups)


def test_grouped_splits_never_split_a_group_and_stay_stratified():
    y, groups = _patients()
    ids = [f"S{i}" for i in range(len(y))]
    splits = make_splits(ids, y, n_splits=20, seed=4, groups=groups)
    assert (splits["group"] == groups).all()
    sizes = set()
    for k in range(20):
        part = splits[f"split_{k:02d}"]
        used = part != "unused"
        assert (part[used].groupby(splits["group"][used]).nunique() == 1).all()  # one part per patient
        for p in PARTS:
            assert set(y[part == p]) == {0, 1, 2}
        assert abs((part == "train").mean() - 0.6) < 0.1
        assert (part == "unused").mean() < 0.05
        sizes.add(tuple(int((part == p).sum()) for p in PARTS))
    assert len(sizes) == 1  # equal part sizes in every split, as batched fitting needs


def test_grouped_splits_of_singletons_match_the_stratified_shares(labels):
    ids = [f"S{i}" for i in range(len(labels))]
    splits = make_splits(ids, labels, n_splits=5, seed=3, groups=ids)
    for k in range(5):
        parts = split_indices(splits, k)
        for c, n in zip(range(3), (50, 30, 12)):
            assert abs(np.sum(labels[parts["test"]] == c) - 0.2 * n) <= 1


def test_class_in_two_groups_is_rejected():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    groups = np.array(["a", "a", "b", "b", "c", "d", "e", "f"])
    with pytest.raises(DatasetError, match=r"GDSX: class 'normal' has 2 groups \(patients\); .* need >= 3"):
        make_splits([f"S{i}" for i in range(8)], y, n_splits=1, groups=groups, class_names=["normal", "tumour"],
                    name="GDSX")
    with pytest.raises(ValueError, match="class 0 has arrays in 2 group"):  # the bare splitter
        stratified_group_split(y, groups)
