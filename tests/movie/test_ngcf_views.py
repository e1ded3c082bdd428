import json

import pytest


def click(client, *movie_ids):
    for movie_id in movie_ids:
        assert client.post(f"/movie/{movie_id}/click/").status_code == 302


def test_ngcf_page_recommends_unseen_movies_with_reasons(visitor, parity_site):
    click(visitor, 1, 3, 5)
    visitor.post("/movie/7/rate/", {"rating": "4.5"})
    response = visitor.get("/movie/ngcf/")
    assert response.status_code == 200
    recs = response.context["recs"]
    assert recs.source == "ngcf"
    ids = [item.movie.pk for item in recs.items]
    assert len(ids) == 10 == len(set(ids))
    assert not {1, 3, 5, 7} & set(ids)
    assert sum(m % 2 for m in ids[:6]) == 6  # odd history -> odd movies first
    html = response.content.decode()
    assert "Because you clicked" in html
    assert "About NGCF" in html
    # the watched list beside them
    watched = html.split('id="history-heading"')[1]
    for m in (1, 3, 5, 7):
        assert f"Movie {m} (1990)" in watched


def test_ngcf_page_shows_no_raw_scores(visitor, parity_site):
    click(visitor, 1, 3, 5)
    api = visitor.get("/api/recommendations?k=10").json()["recommendations"]
    page = visitor.get("/movie/ngcf/")
    # The same list as the page shows, with its scores.
    assert [r["movie_id"] for r in api] == [
        i.movie.pk for i in page.context["recs"].items
    ]
    html = page.content.decode()
    for score in [r["score"] for r in api]:
        for text in (repr(score), f"{score:.3f}", f"{score:.2f}"):
            assert text not in html


def test_past_rating_is_shown_on_a_recommendation(visitor, parity_site):
    click(visitor, 2, 4, 6)
    recs = visitor.get("/movie/ngcf/").context["recs"]
    first = recs.items[0].movie.pk
    # rating a recommended movie makes it part of the history, so it leaves the list
    visitor.post(f"/movie/{first}/rate/", {"rating": "2.0"})
    again = visitor.get("/movie/ngcf/").context["recs"]
    assert first not in [i.movie.pk for i in again.items]


def test_no_history_shows_popular_and_says_why(visitor, parity_site):
    response = visitor.get("/movie/ngcf/")
    recs = response.context["recs"]
    assert recs.source == "popular"
    assert [i.movie.pk for i in recs.items] == list(range(1, 11))
    assert "no history yet" in response.content.decode()


def test_no_checkpoint_falls_back_without_error(
    visitor, parity_site, settings, tmp_path
):
    settings.NGCF_CHECKPOINT = tmp_path / "missing.pt"
    click(visitor, 1)
    response = visitor.get("/movie/ngcf/")
    assert response.status_code == 200
    assert response.context["recs"].source == "popular"
    assert "no NGCF checkpoint" in response.content.decode()
    about = visitor.get("/movie/ngcf/about/")
    assert about.status_code == 200 and "No model is loaded" in about.content.decode()
    assert visitor.get("/movie/ngcf/training-curve.png").status_code == 404
    assert visitor.get("/movie/1/").status_code == 200  # no similar movies, no 500


def test_corrupt_checkpoint_falls_back(visitor, parity_site, settings, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    settings.NGCF_CHECKPOINT = bad
    click(visitor, 1)
    response = visitor.get("/movie/ngcf/")
    assert response.status_code == 200
    assert "cannot be loaded" in response.content.decode()


def test_about_page_shows_metrics_and_curve(visitor, parity_site):
    html = visitor.get("/movie/ngcf/about/").content.decode()
    assert "recall@20" in html and "ndcg@20" in html
    curve = visitor.get("/movie/ngcf/training-curve.png")
    assert curve.status_code == 200 and curve["Content-Type"] == "image/png"
    assert b"".join(curve.streaming_content).startswith(b"\x89PNG")


def test_detail_page_shows_similar_movies(visitor, parity_site):
    similar = visitor.get("/movie/1/").context["similar"]
    assert similar and all(m.pk % 2 == 1 and m.pk != 1 for m in similar)


def test_api_recommendations_for_current_visitor(visitor, parity_site):
    click(visitor, 2, 4)
    body = visitor.get("/api/recommendations?k=5").json()
    assert body["source"] == "ngcf"
    assert len(body["recommendations"]) == 5
    assert body["used_ids"] == [4, 2]
    assert [r["rank"] for r in body["recommendations"]] == [1, 2, 3, 4, 5]
    scores = [r["score"] for r in body["recommendations"]]
    assert scores == sorted(scores, reverse=True)


def test_api_recommendations_stateless(visitor, parity_site):
    response = visitor.post(
        "/api/recommendations",
        json.dumps({"movie_ids": [1, 3, 99999], "k": 4}),
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["unknown_ids"] == [99999]
    ids = [r["movie_id"] for r in body["recommendations"]]
    assert len(ids) == 4 and not {1, 3} & set(ids)
    assert visitor.get("/api/history").json()["count"] == 0  # nothing stored


@pytest.mark.parametrize(
    "body",
    [
        "nope",
        "[]",
        {"k": 10},
        {"movie_ids": "1,2", "k": 10},
        {"movie_ids": [1, "2"], "k": 10},
        {"movie_ids": [1, 2.5]},
        {"movie_ids": [True]},
        {"movie_ids": [1], "k": 0},
        {"movie_ids": [1], "k": 101},
        {"movie_ids": [1], "k": "10"},
        {"movie_ids": [1], "k": 2.0},
        {"movie_ids": list(range(1001))},
        {"movie_ids": [1], "extra": 1},
    ],
)
def test_api_recommendations_bad_input_is_400(visitor, parity_site, body):
    data = body if isinstance(body, str) else json.dumps(body)
    response = visitor.post(
        "/api/recommendations", data, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]


@pytest.mark.parametrize("k", ["0", "101", "abc", "-1", "1.5", ""])
def test_api_recommendations_bad_k_is_400(visitor, parity_site, k):
    assert visitor.get(f"/api/recommendations?k={k}").status_code == 400


def test_api_recommendations_wrong_method(visitor, parity_site):
    assert visitor.delete("/api/recommendations").status_code == 405
