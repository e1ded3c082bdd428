import torch

from pytorch_models.bpr import bpr_loss, bpr_loss_reference, pair_scores


def random_batch(seed, n_users, n_items, dim, batch, k=3):
    """Tables (with gradients) and a batch of users, positives and negatives."""
    g = torch.Generator().manual_seed(seed)
    users_t = torch.randn(n_users, dim, generator=g, requires_grad=True)
    items_t = torch.randn(n_items, dim, generator=g, requires_grad=True)
    users = torch.randint(n_users, (batch,), generator=g)
    pos = torch.randint(n_items, (batch,), generator=g)
    neg = torch.randint(n_items, (batch, k), generator=g)
    return users_t, items_t, users, pos, neg


def test_sparse_bpr_matches_autograd_reference():
    users_t, items_t, users, pos, neg = random_batch(1, 7, 9, 5, 40)
    # 13 * 4 scored pairs fit in the 7 x 9 matrix: the sparse path; 40 x 4 don't.
    for n in (13, 40):
        fast = bpr_loss(users_t, items_t, users[:n], pos[:n], neg[:n])
        pairs = torch.cat([pos[:n, None], neg[:n]], dim=1)
        slow = bpr_loss_reference(users_t[users[:n]], items_t[pairs])
        torch.testing.assert_close(fast, slow)
        grads_fast = torch.autograd.grad(fast * 3, [users_t, items_t])
        grads_slow = torch.autograd.grad(slow * 3, [users_t, items_t])
        for a, b in zip(grads_fast, grads_slow, strict=True):
            torch.testing.assert_close(a, b)


def test_pair_scores_are_the_dot_products_asked_for():
    g = torch.Generator().manual_seed(2)
    users_t, items_t = torch.randn(30, 4, generator=g), torch.randn(40, 4, generator=g)
    users = torch.randint(30, (6,), generator=g)
    items = torch.randint(40, (6, 3), generator=g)
    expected = (items_t[items] * users_t[users].unsqueeze(1)).sum(-1)
    torch.testing.assert_close(pair_scores(users_t, items_t, users, items), expected)


def test_pair_scores_in_user_blocks_are_the_same_products():
    g = torch.Generator().manual_seed(4)
    users_t, items_t = torch.randn(30, 8, generator=g), torch.randn(40, 8, generator=g)
    users = torch.randint(20, (25,), generator=g)  # users 20..29: empty blocks
    items = torch.randint(40, (25, 9), generator=g)
    expected = (items_t[items] * users_t[users].unsqueeze(1)).sum(-1)
    user_major = pair_scores(users_t, items_t, users, items)  # the table is cached
    torch.testing.assert_close(user_major, expected)
    for user_block in (1, 4, 7, 64):
        blocked = pair_scores(
            users_t, items_t, users, items, user_block=user_block, cached_bytes=0
        )
        assert torch.equal(blocked, user_major)


def test_one_node_table_matches_two_tables():
    """Users and items as rows of one table (items after users, as training
    stores them, or interleaved) give the loss and gradient of two tables."""
    g = torch.Generator().manual_seed(3)
    users_t = torch.randn(20, 5, generator=g)
    items_t = torch.randn(30, 5, generator=g)
    users = torch.randint(20, (25,), generator=g)
    pos = torch.randint(30, (25,), generator=g)
    neg = torch.randint(30, (25, 2), generator=g)
    two = [users_t.clone().requires_grad_(), items_t.clone().requires_grad_()]
    loss_two = bpr_loss(*two, users, pos, neg)
    grad_user, grad_item = torch.autograd.grad(loss_two * 2, two)
    # items after users, and items interleaved with users (item j at row 2j + 1)
    for item_rows in (torch.arange(30) + 20, torch.arange(30) * 2 + 1):
        table = torch.zeros(max(50, int(item_rows.max()) + 1), 5)
        user_rows = torch.tensor([r for r in range(60) if r not in item_rows][:20])
        table[user_rows], table[item_rows] = users_t, items_t
        table.requires_grad_()
        loss = bpr_loss(table, table, user_rows[users], item_rows[pos], item_rows[neg])
        torch.testing.assert_close(loss, loss_two)
        (grad,) = torch.autograd.grad(loss * 2, [table])
        torch.testing.assert_close(grad[user_rows], grad_user)
        torch.testing.assert_close(grad[item_rows], grad_item)


def test_given_scores_give_the_same_loss_and_gradients():
    users_t, items_t, users, pos, neg = random_batch(4, 30, 40, 6, 50)
    pairs = torch.cat([pos[:, None], neg], dim=1)
    scores = pair_scores(users_t, items_t, users, pairs)
    computed = bpr_loss(users_t, items_t, users, pos, neg)
    given = bpr_loss(users_t, items_t, users, pos, neg, scores=scores)
    torch.testing.assert_close(given, computed)
    grads = torch.autograd.grad(given, [users_t, items_t])
    for a, b in zip(
        grads, torch.autograd.grad(computed, [users_t, items_t]), strict=True
    ):
        torch.testing.assert_close(a, b)
