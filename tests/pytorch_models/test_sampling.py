import torch

from pytorch_models.sampling import NegativeSampler


def test_sampler_never_returns_known_items():
    users = torch.tensor([0, 0, 0, 1])
    items = torch.tensor([0, 1, 2, 3])
    for dense_limit in (0, 1 << 20):  # searchsorted path and bitmap path
        sampler = NegativeSampler(users, items, n_items=5, dense_limit=dense_limit)
        g = torch.Generator().manual_seed(0)
        neg = sampler.sample(torch.tensor([0, 1] * 50), 4, g)
        assert neg.shape == (100, 4)
        assert set(neg[0::2].flatten().tolist()) == {3, 4}
        assert 3 not in set(neg[1::2].flatten().tolist())
