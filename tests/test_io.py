"""The one atomic-write helper, and AnnData in and out."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from genesel.io import atomic_path, write_table


def test_atomic_path_leaves_nothing_on_failure_and_keeps_usual_permissions(tmp_path):
    target = tmp_path / "sub" / "table.tsv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer died")
    assert list((tmp_path / "sub").iterdir()) == []
    write_table(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "a\n1\n"
    assert oct(os.stat(target).st_mode & 0o777) == oct(0o666 & ~_umask())
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["table.tsv"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_h5ad_round_trip_with_results(small_sim, tmp_path):
    import anndata

    from genesel.export import write_results_h5ad
    from genesel.sources.design import Design
    from genesel.sources.gds import read_gds
    from genesel.sources.h5ad import read_h5ad
    from genesel.splits import make_splits

    data = read_gds(small_sim.soft_path, design=Design("disease state", group="individual"))
    splits = make_splits(data.sample_ids, data.y, n_splits=2, groups=data.groups)
    genes = pd.DataFrame({"rank": np.arange(1, data.n_probes + 1), "probe_id": data.probe_ids[::-1],
                          "gene_symbol": data.gene_symbols[::-1], "score": np.linspace(1, 0, data.n_probes),
                          "selection_frequency": 0.5, "median_rank": 3.0, "anova_p": 0.01})
    path = write_results_h5ad(data, splits, {"l1_logistic": genes}, tmp_path / "out" / "GDSSIM7.h5ad")
    adata = anndata.read_h5ad(path)
    assert adata.shape == (data.n_samples, data.n_probes)
    assert list(adata.obs.columns) == ["label", "group", "split_00", "split_01"]
    assert adata.var.loc[data.probe_ids[-1], "l1_logistic_rank"] == 1
    assert "anova_p" in adata.var and adata.uns["genesel"]["methods"] == ["l1_logistic"]
    np.testing.assert_allclose(adata.layers["published"], data.X)
    back = read_h5ad(path, Design("label", group="group"))  # a scanpy user's file reads back the same
    assert (back.sample_ids == data.sample_ids).all() and back.class_counts() == data.class_counts()
    assert (back.groups == data.groups).all() and (back.gene_symbols == data.gene_symbols).all()


def test_h5ad_without_the_label_column_is_one_line(small_sim, tmp_path):
    import anndata

    from genesel.errors import DatasetError
    from genesel.sources.design import Design
    from genesel.sources.h5ad import read_h5ad

    adata = anndata.AnnData(X=np.ones((6, 3), np.float32), obs=pd.DataFrame({"cell": list("abcdef")},
                            index=[f"s{i}" for i in range(6)]))
    adata.write_h5ad(tmp_path / "x.h5ad")
    with pytest.raises(DatasetError, match=r"x: no obs column 'disease'; available: 'cell' \(6 values\)"):
        read_h5ad(tmp_path / "x.h5ad", Design("disease"))
