import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch_models.sampling import NegativeSampler


def test_sampler_never_returns_known_items():
    users = torch.tensor([0, 0, 0, 1])
    items = torch.tensor([0, 1, 2, 3])
    # searchsorted alone, a bitmap filter in front of it (10 bits for 10 pairs),
    # the exact bitmap
    for dense_limit in (0, 10, 1 << 20):
        sampler = NegativeSampler(users, items, n_items=5, dense_limit=dense_limit)
        assert sampler.exact == (dense_limit == 1 << 20)
        g = torch.Generator().manual_seed(0)
        neg = sampler.sample(torch.tensor([0, 1] * 50), 4, g)
        assert neg.shape == (100, 4)
        assert set(neg[0::2].flatten().tolist()) == {3, 4}
        assert 3 not in set(neg[1::2].flatten().tolist())


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.sets(st.tuples(st.integers(0, 9), st.integers(0, 12)), min_size=1),
    queries=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1),
)
def test_bitmap_filter_and_sorted_keys_answer_membership_alike(pairs, queries):
    users = torch.tensor([u for u, _ in sorted(pairs)])
    items = torch.tensor([i for _, i in sorted(pairs)])
    q_users = torch.tensor([u for u, _ in queries])
    q_items = torch.tensor([i for _, i in queries])
    expected = [(u, i) in pairs for u, i in queries]
    for dense_limit in (0, 8, 64, 1 << 20):  # up to 10 x 13 pairs: filters, or exact
        sampler = NegativeSampler(users, items, n_items=13, dense_limit=dense_limit)
        assert sampler.is_known(q_users, q_items).tolist() == expected
