import time

from movie import selectors, services


def test_popular_movies_most_interacted_first(catalogue):
    ids = list(selectors.movie_list_popular().values_list("id", flat=True))
    assert ids == [50, 100, 181, 1, 127]


def test_search_is_case_insensitive_and_knows_articles(catalogue):
    def found(q):
        return [m.pk for m in selectors.movie_search(query=q)]

    assert found("star wars") == [50]
    assert found("STAR   wars") == [50]
    assert found("the godfather") == [127]
    assert found("jedi") == [181]
    assert found("   ") == []
    assert found("no such film") == []


def test_movies_in_genre(catalogue):
    drama = catalogue[100].genres.get()
    assert [m.pk for m in selectors.movies_in_genre(genre=drama)] == [100, 127]


def test_current_rating_is_the_newest(catalogue):
    services.record_rating(user_key="s:a", movie_id=50, rating=2.0)
    services.record_rating(user_key="s:a", movie_id=50, rating=4.5)
    services.record_rating(user_key="s:b", movie_id=50, rating=1.0)
    assert selectors.rating_for(user_key="s:a", movie_id=50) == 4.5
    assert selectors.rating_for(user_key="s:a", movie_id=100) is None
    assert selectors.ratings_for(user_key="s:b") == {50: 1.0}


def test_interacted_movie_ids_most_recent_first_each_once(catalogue):
    for movie_id in (50, 100, 50, 127):
        services.record_click(user_key="s:a", movie_id=movie_id)
        # Events are ordered by their millisecond timestamp; two in the same
        # millisecond have no order, which no visitor can click fast enough to see.
        time.sleep(0.002)
    assert selectors.interacted_movie_ids(user_key="s:a") == [127, 50, 100]
