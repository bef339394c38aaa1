"""Early stopping on validation loss in the SGD grid trainer (the MLP baselines of config/cpu.yaml)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genesel.preprocess import stack_splits
from genesel.sources.gds import read_gds
from genesel.splits import make_splits
from genesel.train import TrainConfig, train_grid

SETTINGS = dict(variant="mlp_wd", hidden=32, lrs=(0.03,), kappas=(1e-4, 1e-3), max_epochs=1500, check_every=5,
                min_epochs=20, patience=40)


pytestmark = pytest.mark.filterwarnings("ignore:GDSSIM7. subset type 'individual' looks like a patient id")


@pytest.fixture(scope="module")
def parts(small_sim):
    data = read_gds(small_sim.soft_path).drop_control_probes()
    st = stack_splits(data, make_splits(data.sample_ids, data.y, n_splits=2, seed=1))
    return st, (st.X["train"], st.y["train"], st.X["val"], st.y["val"], st.X["test"], len(data.class_names))


def _val_loss(model, X_val: np.ndarray, y_val: np.ndarray) -> float:
    proba = model.predict_proba(torch.as_tensor(X_val[None], dtype=torch.float32), torch.zeros(1, dtype=torch.long))
    p_y = proba["ensemble"][0].numpy()[np.arange(len(y_val)), y_val]
    return float(-np.log(np.clip(p_y, 1e-12, 1)).mean())


def test_stops_and_keeps_the_best_validation_epochs_weights(parts):
    st, arrays = parts
    config = TrainConfig(**SETTINGS, early_stopping=True)
    result = train_grid(*arrays, config, keep_models=True)
    assert (result.epochs < config.max_epochs).all(), "no model stopped early"
    assert result.converged.all()
    assert ((config.check_every < result.best_epoch) & (result.best_epoch < result.epochs)).all()  # learnt, then not
    for (s, g), rows in result.history.groupby(["split", "grid"]):
        best = rows.loc[rows.val_loss.idxmin()]
        assert best.epoch == result.best_epoch[s, g]
        # it stopped one check after the loss last fell by min_delta patience epochs ago
        reference, improved = np.inf, 0
        for epoch, loss in zip(rows.epoch, rows.val_loss):
            if loss < reference - config.min_delta:
                reference, improved = loss, epoch
        assert result.epochs[s, g] == rows.epoch.max() == improved + config.patience
        # the kept network is the best check's: its validation loss and accuracy are that check's
        kept = result.models[(s, g)]
        assert _val_loss(kept, st.X["val"][s], st.y["val"][s]) == pytest.approx(best.val_loss, rel=1e-4)
        assert result.val_acc[s, g] == pytest.approx(best.val_acc)
        assert rows.val_loss.iloc[-1] > best.val_loss  # it went on and got worse: the stop was earned


def test_a_model_still_improving_at_max_epochs_is_a_candidate(parts):
    _, arrays = parts
    result = train_grid(*arrays, TrainConfig(**{**SETTINGS, "max_epochs": 30}, early_stopping=True))
    assert not result.converged.any() and (result.choose_per_split() >= 0).all()


def test_without_it_the_same_models_train_on(parts):
    _, arrays = parts
    stopped = train_grid(*arrays, TrainConfig(**SETTINGS, early_stopping=True))
    default = train_grid(*arrays, TrainConfig(**SETTINGS))
    assert (default.epochs > stopped.epochs).all()
    np.testing.assert_array_equal(default.best_epoch, default.epochs)  # no early stopping: the last weights
