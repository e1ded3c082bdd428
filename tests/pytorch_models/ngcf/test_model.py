import torch

from pytorch_models.graph import build_normalized_adjacency
from pytorch_models.ngcf import NGCF, NGCFConfig, message_dropout
from pytorch_models.ngcf.model import _NgcfLayer


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


def test_layer_backward_matches_numerical_gradients():
    """The hand-written backward pass of one NGCF layer, with and without a
    message-dropout mask, against finite differences (float64)."""
    torch.manual_seed(0)
    shapes = [(7, 5), (7, 5), (4, 5), (4, 5), (4,)]
    args = tuple(
        torch.randn(s, dtype=torch.float64, requires_grad=True) for s in shapes
    )
    keep = (torch.rand(7, 4) > 0.3).double() / 0.7
    for mask in (None, keep):
        assert torch.autograd.gradcheck(
            lambda *a, m=mask: _NgcfLayer.apply(*a, 0.2, m), args
        )


def test_layer_forward_is_the_documented_formula():
    torch.manual_seed(1)
    side, ego = torch.randn(6, 3), torch.randn(6, 3)
    w1, w2, b = torch.randn(2, 3), torch.randn(2, 3), torch.randn(2)
    z = (side + ego) @ w1.t() + (side * ego) @ w2.t() + b
    expected = torch.nn.functional.normalize(
        torch.nn.functional.leaky_relu(z, 0.2), dim=1
    )
    torch.testing.assert_close(
        _NgcfLayer.apply(side, ego, w1, w2, b, 0.2, None), expected
    )
