"""The checkerboard world the recommender tests share: even users like even
items, odd users odd items. Its answer is known (a user's withheld items are of
the user's parity), so a model that learned anything must find it."""

from pytorch_models.data import Interactions
from pytorch_models.ngcf import NGCFConfig
from pytorch_models.records import TrainConfig


def small_config(
    width: int, *, batch_size: int, max_epochs: int, **more
) -> TrainConfig:
    """A tiny NGCF for these worlds: two layers of `width`, no dropout, learning
    rate 0.05, no early stop before `max_epochs`."""
    return TrainConfig(
        model=NGCFConfig(
            embedding_dim=width, layer_sizes=(width, width), message_dropout=0.0
        ),
        learning_rate=0.05,
        batch_size=batch_size,
        max_epochs=max_epochs,
        patience=max_epochs,
        **more,
    )


def parity_likes(n_users: int, n_items: int, first_id: int = 0) -> dict[int, list[int]]:
    """User id -> the item ids of its parity (ids start at ``first_id``), each
    user's list starting at a different item so that withheld items differ."""
    likes = {}
    for u in range(first_id, first_id + n_users):
        liked = [i for i in range(first_id, first_id + n_items) if i % 2 == u % 2]
        shift = (u // 2) % len(liked)
        likes[u] = liked[shift:] + liked[:shift]
    return likes


def parity_timeline(n_users: int = 30, n_items: int = 40) -> list[tuple[int, int, int]]:
    """(user, item, timestamp) of users and items numbered from 1, each user
    liking most of its parity (one in five left out), in a shuffled order of time:
    the fold-in protocols' world."""
    return [
        (u, m, 1000 + (m * 7 + u) % n_items)
        for u, liked in parity_likes(n_users, n_items, first_id=1).items()
        for m in liked
        if (m + u) % 5
    ]


def parity_split(
    n_users: int, n_items: int, n_train: int, first_id: int = 0
) -> tuple[Interactions, Interactions, Interactions]:
    """Train, valid and test of the world: each user's first ``n_train`` liked
    items are train, the next one valid, the one after it test."""
    parts: tuple[list, list, list] = ([], [], [])
    for user, liked in parity_likes(n_users, n_items, first_id).items():
        parts[0].extend((user, i) for i in liked[:n_train])
        parts[1].append((user, liked[n_train]))
        parts[2].append((user, liked[n_train + 1]))
    return tuple(
        Interactions.from_pairs([u for u, _ in part], [i for _, i in part])
        for part in parts
    )
