import torch

from pytorch_models.graph import build_normalized_adjacency
from pytorch_models.ngcf import NGCF, NGCFConfig, message_dropout


def test_message_dropout_rate_and_scale():
    torch.manual_seed(0)
    out = message_dropout(torch.ones(1000, 64), 0.3)
    zero_share = (out == 0).float().mean().item()
    assert abs(zero_share - 0.3) < 0.01
    torch.testing.assert_close(out[out != 0], torch.full_like(out[out != 0], 1 / 0.7))


def test_final_embeddings_concatenate_normalised_layers():
    config = NGCFConfig(embedding_dim=6, layer_sizes=(5, 4))
    torch.manual_seed(0)
    model = NGCF(3, 4, config).eval()
    adj = build_normalized_adjacency(
        torch.tensor([0, 1, 2]), torch.tensor([0, 1, 3]), 3, 4
    )
    users, items = model(adj)
    assert users.shape == (3, 15) and items.shape == (4, 15)
    layers = model.layer_embeddings(adj)
    for layer in layers[1:]:
        torch.testing.assert_close(layer.norm(dim=1), torch.ones(7))
    torch.testing.assert_close(torch.cat([users, items]), torch.cat(layers, dim=1))
