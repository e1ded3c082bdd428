import numpy as np
import pytest
import torch

from pytorch_models.checkpoint import load_checkpoint
from pytorch_models.ngcf import NGCF
from pytorch_models.ngcf.frozen import FrozenNgcf


@pytest.fixture(scope="module")
def checkpoint(parity_checkpoint):
    return load_checkpoint(parity_checkpoint)


def test_item_layers_are_slices_of_the_one_item_matrix(checkpoint):
    frozen = FrozenNgcf.from_checkpoint(checkpoint)
    for layer, part in zip(
        checkpoint.item_layer_embeddings, frozen.slices, strict=True
    ):
        np.testing.assert_array_equal(frozen.item_final[:, part], layer.numpy())


def test_hand_written_backward_matches_autograd(checkpoint):
    frozen = FrozenNgcf.from_checkpoint(checkpoint)
    rng = np.random.default_rng(3)
    sides = frozen.sides(np.array([0, 3, 8]))
    widths = [part.stop - part.start for part in frozen.slices]
    e0 = rng.normal(size=widths[0]).astype(np.float32)
    grad_f = rng.normal(size=sum(widths)).astype(np.float32)
    f, cache = frozen.forward(e0, sides)
    manual = frozen.backward(grad_f, cache)

    # the reference is the trained model's own layers, run by autograd
    model = NGCF(checkpoint.n_users, checkpoint.n_items, checkpoint.model_config)
    model.load_state_dict(checkpoint.state_dict)
    slope = checkpoint.model_config.leaky_relu_slope
    e = torch.tensor(e0, requires_grad=True)
    outs, cur = [e], e
    for w1, w2, side in zip(model.w1, model.w2, sides, strict=True):
        s = torch.from_numpy(side)
        h = torch.nn.functional.leaky_relu(w1(s + cur) + w2(s * cur), slope)
        cur = h / h.norm()
        outs.append(cur)
    final = torch.cat(outs)
    np.testing.assert_allclose(f, final.detach().numpy(), rtol=1e-5, atol=1e-6)
    (final @ torch.from_numpy(grad_f)).backward()
    np.testing.assert_allclose(manual, e.grad.numpy(), rtol=1e-4, atol=1e-6)
