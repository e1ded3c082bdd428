import torch

from pytorch_models.graph import build_normalized_adjacency
from pytorch_models.ngcf import NGCFConfig
from pytorch_models.ngcf.serving import neighbour_embeddings
from pytorch_models.records import TrainConfig
from pytorch_models.training import train_ngcf
from tests.worlds import parity_split


def test_neighbour_embeddings_by_hand():
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


def test_cached_item_layers_are_an_eval_mode_propagation():
    train, valid, test = parity_split(8, 10, n_train=3)
    config = TrainConfig(
        model=NGCFConfig(embedding_dim=8, layer_sizes=(8, 4), message_dropout=0.3),
        batch_size=16,
        max_epochs=2,
        refit=False,  # the checkpoint's graph is then `train` alone
    )
    result = train_ngcf(train, valid, test, config)
    checkpoint = result.checkpoint
    adj = build_normalized_adjacency(
        torch.from_numpy(train.users), torch.from_numpy(train.items), 8, 10
    )
    with torch.no_grad():
        layers = result.model.eval().layer_embeddings(adj)
    assert [t.shape[1] for t in checkpoint.item_layer_embeddings] == [8, 8, 4]
    for cached, layer in zip(checkpoint.item_layer_embeddings, layers, strict=True):
        torch.testing.assert_close(cached, layer[8:])
        assert not cached.requires_grad
    user_final = torch.cat([layer[:8] for layer in layers], dim=1)
    torch.testing.assert_close(
        checkpoint.item_neighbour_embeddings, neighbour_embeddings(adj, user_final, 8)
    )
    assert (
        checkpoint.item_degree.tolist()
        == torch.bincount(torch.from_numpy(train.items), minlength=10).tolist()
    )
