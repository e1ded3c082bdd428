import pytest
import torch

from pytorch_models.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from pytorch_models.data import Interactions
from pytorch_models.graph import build_normalized_adjacency
from pytorch_models.ngcf import NGCFConfig
from pytorch_models.training import TrainConfig, train_ngcf


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


def test_round_trip_with_weights_only_gives_same_scores(tmp_path, trained):
    train, result = trained
    path = save_checkpoint(result.checkpoint, tmp_path / "sub" / "ngcf.pt")
    raw = torch.load(path, weights_only=True)  # must not need pickled classes
    assert raw["format_version"] == FORMAT_VERSION
    loaded = load_checkpoint(path)
    assert loaded.model_config == result.model.config
    assert loaded.user_ids.dtype == torch.int64
    assert loaded.metrics["best_epoch"] == result.metrics["best_epoch"]

    user_index, item_index = loaded.user_index(), loaded.item_index()
    u = torch.tensor([user_index[int(x)] for x in train.users])
    i = torch.tensor([item_index[int(x)] for x in train.items])
    adj = build_normalized_adjacency(u, i, loaded.n_users, loaded.n_items)
    with torch.no_grad():
        before = torch.cat(result.model(adj), 0)
        model = loaded.build_model()
        after = torch.cat(model(adj), 0)
        layers = model.layer_embeddings(adj)
    torch.testing.assert_close(before, after, rtol=0, atol=0)
    # cached per-layer item embeddings = eval-mode propagation, widths 8, 8, 4
    assert [t.shape[1] for t in loaded.item_layer_embeddings] == [8, 8, 4]
    for cached, layer in zip(loaded.item_layer_embeddings, layers, strict=True):
        torch.testing.assert_close(cached, layer[loaded.n_users :])
        assert not cached.requires_grad
    torch.testing.assert_close(loaded.item_final_embeddings(), after[loaded.n_users :])
    assert (
        loaded.item_degree.tolist()
        == torch.bincount(i, minlength=loaded.n_items).tolist()
    )


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


def test_neighbour_embeddings_by_hand():
    from pytorch_models.checkpoint import neighbour_embeddings
    from pytorch_models.graph import build_normalized_adjacency

    # users 0 (2 items), 1 (1 item); items 0 (both users), 1 (user 0), 2 (none)
    adjacency = build_normalized_adjacency(
        torch.tensor([0, 0, 1]), torch.tensor([0, 1, 0]), 2, 3
    )
    user_final = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    got = neighbour_embeddings(adjacency, user_final, 2)
    root2 = 2**0.5
    expected = torch.tensor(
        [[root2 / 2, 3.0 / 2], [root2, 0.0], [0.0, 0.0]]  # sqrt(deg v) f_v / deg i
    )
    assert torch.allclose(got, expected)
