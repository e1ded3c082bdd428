import time

from movie import selectors, services


def test_popular_movies_most_interacted_first(catalogue):
    ids = list(selectors.movie_list_popular().values_list("id", flat=True))
    assert ids == [50, 100, 181, 1, 127]


def test_search_forgives_typos_spaces_case_and_articles(catalogue):
    def found(q):
        return selectors.movie_search(query=q)

    assert found("star wars") == [50]
    assert found("STAR   wars") == [50]
    assert found("starwars") == [50]
    assert found("the godfather") == [127]
    assert found("godfahter") == [127]
    assert found("Godfather, The") == [127]
    assert found("jedi") == [181]
    assert found("   ") == []
    assert found("no such film") == []
    assert selectors.movie_search(query="star wars", limit=0) == []


def test_search_ranks_the_best_match_first_then_the_more_popular(catalogue):
    from movie.models import Movie

    Movie.objects.create(id=2, title="Star Wars Kid", year=2002, popularity=1)
    Movie.objects.create(id=3, title="Stars Wars", year=1999, popularity=900)
    # The exact title first although "Stars Wars" is more popular; equally good
    # matches ("Star Wars Kid" holds the whole query) by popularity.
    assert selectors.movie_search(query="star wars")[:1] == [50]
    assert selectors.movies_in_order(movie_ids=[3, 999, 50]) == [
        Movie.objects.get(pk=3),
        Movie.objects.get(pk=50),
    ]


def test_movies_in_genre(catalogue):
    drama = catalogue[100].genres.get()
    assert [m.pk for m in selectors.movies_in_genre(genre=drama)] == [100, 127]


def test_current_rating_is_the_newest(catalogue):
    services.record_rating(user_key="s:a", movie_id=50, rating=2.0)
    time.sleep(0.002)  # a later millisecond: events are ordered by timestamp
    services.record_rating(user_key="s:a", movie_id=50, rating=4.5)
    services.record_rating(user_key="s:b", movie_id=50, rating=1.0)
    assert selectors.VisitorHistory(user_key="s:a").signals.ratings == {50: 4.5}
    assert selectors.VisitorHistory(user_key="s:b").signals.ratings == {50: 1.0}


def test_signals_list_movies_most_recent_first_each_once(catalogue):
    for movie_id in (50, 100, 50, 127):
        services.record_click(user_key="s:a", movie_id=movie_id)
        # Events are ordered by their millisecond timestamp; two in the same
        # millisecond have no order, which no visitor can click fast enough to see.
        time.sleep(0.002)
    signals = selectors.VisitorHistory(user_key="s:a").signals
    assert signals.movie_ids == [127, 50, 100]
