import logging

import pytest
import torch

from pytorch_models.checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint
from pytorch_models.data import Interactions
from pytorch_models.graph import build_normalized_adjacency
from pytorch_models.ngcf import NGCF, NGCFConfig
from pytorch_models.records import TrainConfig
from pytorch_models.training import train_ngcf


@pytest.fixture(scope="module")
def trained():
    # Raw ids are deliberately not 0..n-1, to exercise the id maps.
    g = torch.Generator().manual_seed(0)
    users = torch.randint(10, (150,), generator=g) * 7 + 100
    items = torch.randint(15, (150,), generator=g) * 3 + 5
    keys = torch.unique(users * 1000 + items)
    pairs = Interactions.from_pairs(keys // 1000, keys % 1000)
    train = pairs.take(torch.arange(len(pairs)).numpy() % 5 != 0)
    valid = pairs.take(torch.arange(len(pairs)).numpy() % 10 == 0)
    test = pairs.take(torch.arange(len(pairs)).numpy() % 10 == 5)
    config = TrainConfig(
        model=NGCFConfig(embedding_dim=8, layer_sizes=(8, 4)),
        batch_size=32,
        max_epochs=3,
        patience=3,
        refit=False,  # the checkpoint's graph is then `train` alone
    )
    return train, train_ngcf(train, valid, test, config)


def test_round_trip_with_weights_only_gives_the_same_checkpoint(tmp_path, trained):
    _, result = trained
    path = result.checkpoint.save(tmp_path / "sub" / "ngcf.pt")
    raw = torch.load(path, weights_only=True)  # must not need pickled classes
    assert raw["format_version"] == FORMAT_VERSION
    loaded = load_checkpoint(path)
    assert loaded.model_config == result.model.config
    assert loaded.train_config == result.checkpoint.train_config
    assert loaded.metrics == result.metrics
    assert loaded.user_ids.dtype == torch.int64
    for name in ("user_ids", "item_ids", "item_degree", "item_neighbour_embeddings"):
        assert torch.equal(getattr(loaded, name), getattr(result.checkpoint, name))
    for a, b in zip(
        loaded.item_layer_embeddings,
        result.checkpoint.item_layer_embeddings,
        strict=True,
    ):
        assert torch.equal(a, b)


def test_loaded_weights_give_the_same_scores(tmp_path, trained):
    train, result = trained
    loaded = load_checkpoint(result.checkpoint.save(tmp_path / "ngcf.pt"))
    user_index = {int(raw): i for i, raw in enumerate(loaded.user_ids.tolist())}
    item_index = {int(raw): i for i, raw in enumerate(loaded.item_ids.tolist())}
    u = torch.tensor([user_index[int(x)] for x in train.users])
    i = torch.tensor([item_index[int(x)] for x in train.items])
    adj = build_normalized_adjacency(u, i, loaded.n_users, loaded.n_items)
    model = NGCF(loaded.n_users, loaded.n_items, loaded.model_config)
    model.load_state_dict(loaded.state_dict)
    with torch.no_grad():
        before = torch.cat(result.model(adj), 0)
        after = torch.cat(model.eval()(adj), 0)
    torch.testing.assert_close(before, after, rtol=0, atol=0)


def test_a_file_of_the_current_version_from_earlier_code_loads(
    tmp_path, trained, caplog
):
    """Version-2 files written before the metrics were typed kept a copy of the
    training config in their metrics."""
    _, result = trained
    path = result.checkpoint.save(tmp_path / "ngcf.pt")
    raw = torch.load(path, weights_only=True)
    raw["metrics"]["config"] = raw["train_config"]
    raw["model_config"]["layer_sizes"] = list(raw["model_config"]["layer_sizes"])
    torch.save(raw, path)
    with caplog.at_level(logging.INFO, logger="pytorch_models.checkpoint"):
        loaded = load_checkpoint(path)
    assert "ignored" not in caplog.text  # a known retired key, left out quietly
    assert loaded.metrics == result.metrics
    assert loaded.model_config == result.model.config


def test_a_file_of_newer_code_with_a_new_training_field_loads(
    tmp_path, trained, caplog
):
    """A training option or metric that newer code added does not stop this code
    from serving the file (a rolling deploy); what it knows reads as written, and
    what it left out is logged."""
    _, result = trained
    path = result.checkpoint.save(tmp_path / "ngcf.pt")
    raw = torch.load(path, weights_only=True)
    raw["train_config"]["a_newer_option"] = 3
    raw["metrics"]["a_newer_metric"] = 0.5
    torch.save(raw, path)
    with caplog.at_level(logging.INFO, logger="pytorch_models.checkpoint"):
        loaded = load_checkpoint(path)
    assert loaded.train_config == result.checkpoint.train_config
    assert loaded.metrics == result.metrics
    logged = caplog.text
    assert "TrainConfig fields ignored: ['a_newer_option']" in logged
    assert "TrainMetrics fields ignored: ['a_newer_metric']" in logged


@pytest.mark.parametrize("where", ["model_config", "train_config.model"])
def test_a_file_with_an_unknown_architecture_field_is_a_checkpoint_error(
    tmp_path, trained, where
):
    """The architecture decides what the weights compute: nothing of it is left out."""
    _, result = trained
    path = result.checkpoint.save(tmp_path / "ngcf.pt")
    raw = torch.load(path, weights_only=True)
    config = (
        raw["model_config"] if where == "model_config" else raw["train_config"]["model"]
    )
    config["a_newer_layer_kind"] = "gated"
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match="not a complete checkpoint"):
        load_checkpoint(path)


def test_a_file_missing_a_field_is_a_checkpoint_error(tmp_path, trained):
    _, result = trained
    path = result.checkpoint.save(tmp_path / "ngcf.pt")
    raw = torch.load(path, weights_only=True)
    del raw["item_degree"]
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match="not a complete checkpoint"):
        load_checkpoint(path)


def test_loading_something_else_fails_clearly(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"format": "something"}, path)
    with pytest.raises(CheckpointError, match="not a"):
        load_checkpoint(path)
    torch.save({"format": "pseudorec-ngcf", "format_version": 999}, path)
    with pytest.raises(CheckpointError, match="version"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "content", [b"", b"not a checkpoint", b"PK\x03\x04broken", b"existing"]
)
def test_unreadable_file_is_a_checkpoint_error(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)
