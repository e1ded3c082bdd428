"""'Not interested': recorded by form and API, superseding, never shown again."""

import json

from movie import selectors
from movie.events import Event


def click(client, *movie_ids):
    for movie_id in movie_ids:
        assert client.post(f"/movie/{movie_id}/click/").status_code == 302


def hide(client, movie_id):
    response = client.post(f"/movie/{movie_id}/not-interested/", {"next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"


def shown_ids(client):
    ngcf = client.get("/movie/ngcf/").context
    home = client.get("/").context
    return (
        {i.movie.pk for i in ngcf["recs"].items}
        | {m.pk for m in home["for_you"]}
        | {m.pk for m in home["page"].object_list}
    )


def test_a_hidden_movie_never_comes_back_on_any_surface(visitor, parity_site):
    click(visitor, 2, 4, 6)
    first = visitor.get("/movie/ngcf/").context["recs"].items[0].movie.pk
    similar = [m.pk for m in visitor.get("/movie/2/").context["similar"]]
    hide(visitor, first)
    hide(visitor, similar[0])
    for hidden in (first, similar[0]):
        assert hidden not in shown_ids(visitor)
        assert hidden not in [m.pk for m in visitor.get("/movie/2/").context["similar"]]
    api = visitor.get("/api/recommendations?k=20").json()
    assert not {first, similar[0]} & {r["movie_id"] for r in api["recommendations"]}


def test_popular_fallback_leaves_hidden_movies_out(visitor, parity_site):
    hide(visitor, 1)
    recs = visitor.get("/movie/ngcf/").context["recs"]
    assert recs.source == "popular"
    assert 1 not in [i.movie.pk for i in recs.items]


def test_the_sidebar_lists_it_and_undo_brings_it_back(visitor, parity_site):
    click(visitor, 2, 4, 6)
    first = visitor.get("/movie/ngcf/").context["recs"].items[0].movie.pk
    hide(visitor, first)
    page = visitor.get("/movie/ngcf/")
    entry = next(e for e in page.context["watched"] if e.movie.pk == first)
    assert entry.effect == "not interested"
    assert "not interested" in page.content.decode().split('id="history-heading"')[1]
    visitor.post(f"/history/{entry.event.event_id}/delete/", {"next": "/"})
    assert first in {
        i.movie.pk for i in visitor.get("/movie/ngcf/").context["recs"].items
    }


def test_the_api_records_not_interested_and_refuses_a_rating_on_it(
    visitor, parity_site
):
    def post(body):
        return visitor.post(
            "/api/events", json.dumps(body), content_type="application/json"
        )

    response = post({"movie_id": 3, "kind": "not_interested"})
    assert response.status_code == 201 and response.json()["kind"] == "not_interested"
    assert (
        post({"movie_id": 3, "kind": "not_interested", "rating": 2}).status_code == 400
    )
    assert post({"movie_id": 3, "kind": "not interested"}).status_code == 400


def test_supersession_of_a_movie_s_events():
    def ev(kind, movie, ts, rating=None):
        return Event(user_key="v:x", kind=kind, movie_id=movie, rating=rating, ts=ts)

    # newest first: a click after a one-star rating keeps the dislike; a rating
    # after "not interested" replaces it; "not interested" after a like wins
    events = [
        ev("click", 1, 9),
        ev("rating", 1, 8, 1.0),
        ev("rating", 2, 7, 5.0),
        ev("not_interested", 2, 6),
        ev("not_interested", 3, 5),
        ev("rating", 3, 4, 5.0),
        ev("click", 4, 3),
    ]
    signals = selectors.signals_from(events)
    assert signals.ratings == {1: 1.0, 2: 5.0}
    assert signals.not_interested == [3]
    assert signals.positive_ids == [1, 2, 4]
    effects = [signals.effect(e) for e in events]
    assert effects == [
        "superseded",
        "disliked",
        "liked",
        "superseded",
        "not interested",
        "superseded",
        "clicked",
    ]


def test_the_dial_is_remembered_and_checked(visitor, parity_site, settings):
    click(visitor, 2, 4, 6)
    default = visitor.get("/movie/ngcf/").context["dial"]
    assert float(default.initial["centring"]) == settings.NGCF_CENTRING
    assert visitor.post("/movie/ngcf/dial/", {"centring": "1.0"}).status_code == 302
    assert visitor.get("/movie/ngcf/").context["dial"].initial["centring"] == "1.0"
    refused = visitor.post("/movie/ngcf/dial/", {"centring": "7"})
    assert refused.status_code == 400
    assert refused["Content-Type"].startswith("text/html")
    html = refused.content.decode()
    assert "<h1>Bad request</h1>" in html
    assert "Choose one of the dial&#x27;s positions." in html
    assert visitor.get("/movie/ngcf/").context["dial"].initial["centring"] == "1.0"


def test_because_you_liked_names_strong_positives(visitor, parity_site):
    for m in (2, 4, 6):
        visitor.post(f"/movie/{m}/rate/", {"rating": "5.0"})
    html = visitor.get("/movie/ngcf/").content.decode()
    assert "Because you liked" in html
    assert "Because you clicked" not in html


def test_about_page_shows_the_served_beyond_accuracy(client, db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    assert (
        "How far past the blockbusters"
        not in client.get("/movie/ngcf/about/").content.decode()
    )
    beyond = {
        "lists": 188,
        "coverage": 107,
        "median_popularity_rank": 21.0,
        "mean_popularity_rank": 43.8,
        "gini": 0.974,
        "long_tail_share": 0.219,
        "head_share": 0.2,
    }
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "foldin-graded.json").write_text(
        json.dumps({"seeds": [{"seed": 0, "beyond": {"ungraded:served": beyond}}]})
    )
    html = client.get("/movie/ngcf/about/").content.decode()
    assert "How far past the blockbusters" in html and "107 distinct movies" in html
