"""Keyed users of a checkpoint are served from their trained nodes: with nothing
new, exactly the trained model's own ranking for that node; with newer movies,
fine-tuned on those only; everyone else is folded in as before."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from pytorch_models.checkpoint import key_digest, load_checkpoint
from pytorch_models.graph import build_normalized_adjacency
from pytorch_models.ngcf import NGCF
from pytorch_models.ngcf.predictor import (
    FOLD_IN,
    TRAINED,
    TRAINED_FINETUNED,
    FinetuneConfig,
    NgcfPredictor,
)
from pytorch_models.training import train_ngcf
from tests.worlds import parity_split, small_config

KEYED = {3: "v:three", 4: "v:four", 11: "v:eleven"}  # raw user id -> key


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    train, valid, test = parity_split(16, 20, n_train=6, first_id=1)
    # refit=False: the checkpoint's graph is then `train` alone
    config = small_config(8, batch_size=32, max_epochs=15, refit=False)
    result = train_ngcf(
        train,
        valid,
        test,
        config,
        user_keys={u: key_digest(k) for u, k in KEYED.items()},
        trained_until=1234,
    )
    path = result.checkpoint.save(tmp_path_factory.mktemp("keyed") / "ngcf.pt")
    return train, result, path


def _trained_user_final(train, path) -> dict[int, np.ndarray]:
    """Each user's final embedding from the torch model on its training graph."""
    ckpt = load_checkpoint(path)
    users = np.searchsorted(ckpt.user_ids.numpy(), train.users)
    items = np.searchsorted(ckpt.item_ids.numpy(), train.items)
    adj = build_normalized_adjacency(
        torch.from_numpy(users), torch.from_numpy(items), ckpt.n_users, ckpt.n_items
    )
    model = NGCF(ckpt.n_users, ckpt.n_items, ckpt.model_config)
    model.load_state_dict(ckpt.state_dict)
    with torch.no_grad():
        layers = model.eval().layer_embeddings(adj)
    final = torch.cat([layer[: ckpt.n_users] for layer in layers], 1).numpy()
    return {int(raw): final[u] for u, raw in enumerate(ckpt.user_ids.tolist())}


def _trained_movies(train, user: int) -> list[int]:
    return sorted(int(i) for i in train.items[train.users == user])


def test_the_checkpoint_keeps_digests_rows_and_training_items(trained):
    train, _, path = trained
    keyed = load_checkpoint(path).keyed_users
    assert sorted(keyed.digests) == sorted(key_digest(k) for k in KEYED.values())
    assert keyed.trained_until == 1234
    raw = torch.load(path, weights_only=True)
    assert not any(k in str(raw["keyed_users"]) for k in KEYED.values())
    predictor = NgcfPredictor.load(path)
    for user, key in KEYED.items():
        node = predictor.trained_node(key_digest(key))
        assert sorted(node.movie_ids) == _trained_movies(train, user)
    assert predictor.trained_node(key_digest("v:nobody")) is None


def test_with_nothing_new_the_list_is_the_trained_models_ranking(trained):
    train, _, path = trained
    predictor = NgcfPredictor.load(path, FinetuneConfig(neighbour_weight=0))
    finals = _trained_user_final(train, path)
    items = predictor.model.item_final
    for user, key in KEYED.items():
        seen = _trained_movies(train, user)
        node = predictor.trained_node(key_digest(key))
        recs = predictor.recommend(seen, k=5, trained=node)
        assert recs.served_from == TRAINED
        scores = items @ finals[user]
        order = [
            int(predictor.item_ids[i])
            for i in np.argsort(-scores, kind="stable")
            if int(predictor.item_ids[i]) not in seen
        ]
        assert [r.movie_id for r in recs] == order[:5]
        expected = [float(scores[predictor._index[m]]) for m in order[:5]]
        np.testing.assert_allclose([r.score for r in recs], expected, rtol=1e-4)
        # no fine-tuning happened: the epochs change nothing
        again = predictor.recommend(seen, k=5, epochs=0, trained=node)
        assert [r.movie_id for r in again] == [r.movie_id for r in recs]


def test_newer_movies_are_fine_tuned_on_from_the_trained_node(trained):
    train, _, path = trained
    predictor = NgcfPredictor.load(path, FinetuneConfig(neighbour_weight=0))
    user = 3
    node = predictor.trained_node(key_digest(KEYED[user]))
    seen = _trained_movies(train, user)
    newer = [m for m in range(1, 21) if m % 2 == 1 and m not in seen][:2]
    history = [*newer, *seen]
    tuned = predictor.recommend(history, k=5, trained=node, newer_ids=newer)
    assert tuned.served_from == TRAINED_FINETUNED
    assert not set(history) & {r.movie_id for r in tuned}
    still = predictor.recommend(history, k=5, epochs=0, trained=node, newer_ids=newer)
    assert still.served_from == TRAINED
    assert [r.score for r in tuned] != [r.score for r in still]
    folded = predictor.recommend(history, k=5)
    assert folded.served_from == FOLD_IN
    # the start is the trained node, not the fold-in's warm start
    assert [r.score for r in still] != [r.score for r in folded]


def test_the_fine_tuning_fits_only_the_newer_movies(trained):
    """A trained movie is no pair of the fine-tuning: with the newer movie's
    feedback alone, the result is what fine-tuning on it alone gives."""
    train, _, path = trained
    predictor = NgcfPredictor.load(path)
    node = predictor.trained_node(key_digest(KEYED[4]))
    seen = _trained_movies(train, 4)
    newer = [m for m in range(2, 21, 2) if m not in seen][:1]
    start = predictor._node_start(node, newer, {})
    assert start.feedback.rows.tolist() == [predictor._index[newer[0]]]
    assert sorted(predictor.item_ids[start.links].tolist()) == sorted(seen + newer)
    np.testing.assert_array_equal(start.e0, node.e0)


def test_a_checkpoint_without_keyed_users_folds_everyone_in(tmp_path, trained):
    _, _, path = trained
    old = torch.load(path, weights_only=True)
    old["format_version"] = 3
    del old["keyed_users"]
    torch.save(old, tmp_path / "v3.pt")
    predictor = NgcfPredictor.load(tmp_path / "v3.pt")
    assert predictor.trained_node(key_digest(KEYED[3])) is None
    recs = predictor.recommend([1, 3, 5], k=5)
    assert recs.served_from == FOLD_IN and len(recs) == 5


def test_a_trained_node_is_served_the_same_from_many_threads(trained):
    from concurrent.futures import ThreadPoolExecutor

    train, _, path = trained
    predictor = NgcfPredictor.load(path, replace(FinetuneConfig(), centring=0.5))
    node = predictor.trained_node(key_digest(KEYED[11]))
    seen = _trained_movies(train, 11)
    newer = next(m for m in range(1, 21, 2) if m not in seen)

    def ask(seed):
        recs = predictor.recommend(
            [newer, *seen], k=5, seed=seed, trained=node, newer_ids=[newer]
        )
        assert recs.served_from == TRAINED_FINETUNED
        return [r.movie_id for r in recs]

    serial = [ask(s) for s in range(8)]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(ask, range(8))) == serial
