import math

import pytest
import torch

from pytorch_models.evaluation import RankingEvaluator, ranking_metrics

LOG3 = math.log2(3)


def test_metrics_match_hand_computed_values():
    # user A: held-out {a, b}; ranks 1 and 3 are hits.
    # user B: held-out {c};    rank 2 is a hit.
    hits = torch.tensor([[1, 0, 1], [0, 1, 0]], dtype=torch.bool)
    n_relevant = torch.tensor([2, 1])
    m = ranking_metrics(hits, n_relevant, ks=(1, 3))
    ndcg_a = (1 + 1 / 2) / (1 + 1 / LOG3)  # DCG: ranks 1, 3; IDCG: 2 ideal hits
    ndcg_b = (1 / LOG3) / 1.0
    assert m["recall@3"] == pytest.approx((2 / 2 + 1 / 1) / 2)
    assert m["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert m["hit@3"] == pytest.approx(1.0)
    assert m["ndcg@3"] == pytest.approx((ndcg_a + ndcg_b) / 2)
    assert m["recall@1"] == pytest.approx((1 / 2 + 0) / 2)
    assert m["precision@1"] == pytest.approx(0.5)
    assert m["hit@1"] == pytest.approx(0.5)
    assert m["ndcg@1"] == pytest.approx(0.5)


def test_ideal_dcg_comes_from_held_out_items_not_from_hits():
    # 3 held-out items, only rank 1 hit: IDCG@2 = 1 + 1/log2(3), not 1.
    m = ranking_metrics(torch.tensor([[True, False]]), torch.tensor([3]), ks=(2,))
    assert m["ndcg@2"] == pytest.approx(1 / (1 + 1 / LOG3))
    # 30 held-out items, all of the top 2 hit: ideal is capped at K, NDCG = 1.
    m = ranking_metrics(torch.tensor([[True, True]]), torch.tensor([30]), ks=(2,))
    assert m["ndcg@2"] == pytest.approx(1.0)
    assert m["recall@2"] == pytest.approx(2 / 30)


def test_evaluator_masks_known_items_and_ranks_all_items():
    # Item score = its 1-d embedding; users all have embedding 1.
    items = torch.tensor([[5.0], [4.0], [3.0], [2.0], [1.0]])
    users = torch.ones(2, 1)
    # user 0 knows items 0 and 1, so its ranking starts 2, 3, 4.
    # user 1 knows nothing: 0, 1, 2, ...
    evaluator = RankingEvaluator(
        known_users=torch.tensor([0, 0]),
        known_items=torch.tensor([0, 1]),
        heldout_users=torch.tensor([0, 1, 1]),
        heldout_items=torch.tensor([3, 2, 4]),
        n_items=5,
        ks=(1, 2),
        user_batch=1,  # two chunks
    )
    m = evaluator.evaluate(users, items)
    # user 0: top [2, 3] -> hit at rank 2; user 1: top [0, 1] -> nothing.
    assert m["hit@1"] == pytest.approx(0.0)
    assert m["recall@2"] == pytest.approx((1.0 + 0.0) / 2)
    assert m["ndcg@2"] == pytest.approx((1 / LOG3) / 2)
    assert m["precision@2"] == pytest.approx(0.25)
    assert evaluator.n_users == 2


def test_evaluator_skips_users_without_held_out_items():
    evaluator = RankingEvaluator(
        torch.tensor([0, 1]),
        torch.tensor([0, 0]),
        torch.tensor([1]),
        torch.tensor([1]),
        n_items=3,
        ks=(1,),
    )
    m = evaluator.evaluate(torch.ones(2, 1), torch.tensor([[3.0], [2.0], [1.0]]))
    assert m["recall@1"] == pytest.approx(1.0)
    assert evaluator.n_users == 1


def _random_split(seed: int, n_users: int, n_items: int):
    """Random known and disjoint held-out pairs, and random embeddings."""
    g = torch.Generator().manual_seed(seed)
    keys = torch.randperm(n_users * n_items, generator=g)[: n_users * n_items // 3]
    known, heldout = keys[: keys.numel() // 2], keys[keys.numel() // 2 :]
    users = torch.randn(n_users, 8, generator=g)
    items = torch.randn(n_items, 8, generator=g)
    return known, heldout, users, items


@pytest.mark.parametrize("item_batch", [1, 7, 20, 49])
def test_item_blocks_rank_as_one_ranking_of_all_items(item_batch):
    n_users, n_items = 60, 49
    known, heldout, users, items = _random_split(item_batch, n_users, n_items)
    pairs = (
        known // n_items,
        known % n_items,
        heldout // n_items,
        heldout % n_items,
    )
    blocked = RankingEvaluator(
        *pairs,
        n_items,
        ks=(5, 20),
        user_batch=16,
        item_batch=item_batch,
        one_block_limit=0,
    )
    # the plain ranking: every item's score at once, known pairs at -inf
    scores = users @ items.t()
    scores[known // n_items, known % n_items] = -torch.inf
    top = torch.topk(scores, 20, dim=1).indices
    held = torch.zeros(n_users, n_items, dtype=torch.bool)
    held[heldout // n_items, heldout % n_items] = True
    evaluated = held.any(1)
    hits = held.gather(1, top)[evaluated]
    expected = ranking_metrics(hits, held.sum(1)[evaluated], ks=(5, 20))
    got = blocked.evaluate(users, items)
    assert got == pytest.approx(expected, rel=1e-12)
    one_block = RankingEvaluator(*pairs, n_items, ks=(5, 20), user_batch=16)
    assert one_block.evaluate(users, items) == got


def _pairs(known, heldout, n_items):
    return known // n_items, known % n_items, heldout // n_items, heldout % n_items


@pytest.mark.parametrize("item_batch", [7, 49])
def test_coarse_shortlist_rescored_exactly_ranks_as_the_exact_ranking(item_batch):
    # A shortlist as long as the catalogue: the rescoring sees every item, so the
    # ranking is the exact one whatever the coarse scores' rounding did.
    n_users, n_items = 60, 49
    known, heldout, users, items = _random_split(3, n_users, n_items)
    exact = RankingEvaluator(*_pairs(known, heldout, n_items), n_items, ks=(5, 20))
    coarse = RankingEvaluator(
        *_pairs(known, heldout, n_items),
        n_items,
        ks=(5, 20),
        user_batch=16,
        item_batch=item_batch,
        one_block_limit=0,
        shortlist_dtype=torch.bfloat16,
        shortlist=n_items,
    )
    assert coarse.evaluate(users, items) == pytest.approx(
        exact.evaluate(users, items), rel=1e-12
    )


def test_coarse_shortlist_never_ranks_a_known_item():
    # Every item but the held-out one is known and scores highest: a shortlist
    # longer than what is left holds known items (-inf coarse scores), and the
    # exact rescoring must not lift them back above the held-out item.
    n_items = 40
    items = torch.linspace(2.0, 1.0, n_items).unsqueeze(1)  # item 0 best
    heldout = n_items - 1  # the worst item
    known_items = torch.arange(n_items - 1)
    coarse = RankingEvaluator(
        torch.zeros(n_items - 1, dtype=torch.int64),
        known_items,
        torch.tensor([0]),
        torch.tensor([heldout]),
        n_items,
        ks=(1,),
        item_batch=8,
        one_block_limit=0,
        shortlist_dtype=torch.bfloat16,
        shortlist=n_items,
    )
    assert coarse.evaluate(torch.ones(1, 1), items)["hit@1"] == 1.0


def test_coarse_shortlist_is_ignored_below_the_one_block_limit():
    n_users, n_items = 60, 49
    known, heldout, users, items = _random_split(4, n_users, n_items)
    pairs = _pairs(known, heldout, n_items)
    exact = RankingEvaluator(*pairs, n_items, ks=(5, 20))
    small = RankingEvaluator(
        *pairs, n_items, ks=(5, 20), shortlist_dtype=torch.bfloat16, shortlist=20
    )
    assert small.shortlist_dtype is None
    assert small.evaluate(users, items) == exact.evaluate(users, items)
