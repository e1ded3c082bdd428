from movie.recommendations.selectors import (
    model_card,
    recommendations_for_movies,
    similar_movies,
)


def test_recommendations_from_the_model_with_reasons(parity_site):
    recs = recommendations_for_movies(movie_ids=[1, 3, 5], k=4, ratings={7: 4.5})
    assert recs.source == "ngcf" and recs.message == ""
    assert [r.rank for r in recs.items] == [1, 2, 3, 4]
    assert all(r.movie.pk % 2 == 1 and r.movie.pk not in (1, 3, 5) for r in recs.items)
    assert all({m.pk for m in r.because} <= {1, 3, 5} for r in recs.items)
    assert all(r.rating == (4.5 if r.movie.pk == 7 else None) for r in recs.items)
    assert recs.used_ids == [1, 3, 5] and recs.unknown_ids == []


def test_unknown_movies_fall_back_to_popular_and_say_why(parity_site):
    recs = recommendations_for_movies(movie_ids=[4242], k=3)
    assert recs.source == "popular" and "known to the model" in recs.message
    assert recs.unknown_ids == [4242]
    assert [r.movie.pk for r in recs.items] == [1, 2, 3]  # popularity 100 - id


def test_no_history_falls_back_to_popular(parity_site):
    recs = recommendations_for_movies(movie_ids=[], k=2)
    assert recs.source == "popular" and "no history" in recs.message
    assert [r.score for r in recs.items] == [None, None]


def test_similar_movies_and_model_card(parity_site):
    similar = similar_movies(movie_id=2, k=3).movies
    assert len(similar) == 3 and all(m.pk % 2 == 0 and m.pk != 2 for m in similar)
    card = model_card()
    assert card["available"] and card["problem"] == ""
    assert card["metrics"].best_epoch >= 1
    assert set(card["test"]) >= {"recall@20", "ndcg@20"}
    assert card["has_curve"]


def test_model_card_without_a_checkpoint(db, settings, tmp_path):
    settings.NGCF_CHECKPOINT = tmp_path / "none.pt"
    card = model_card()
    assert not card["available"] and card["metrics"] is None and card["test"] == {}
    assert similar_movies(movie_id=1).movies == []
