import time

import pytest

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


@pytest.mark.parametrize("clock", ["later milliseconds", "one millisecond"])
def test_current_rating_is_the_newest(catalogue, request, clock):
    if clock == "one millisecond":
        request.getfixturevalue("one_millisecond")
    for rating in (2.0, 4.5, 3.0, 5.0):
        services.record_rating(user_key="s:a", movie_id=50, rating=rating)
        if clock == "later milliseconds":
            time.sleep(0.002)
    services.record_rating(user_key="s:b", movie_id=50, rating=1.0)
    assert selectors.VisitorHistory(user_key="s:a").signals.ratings == {50: 5.0}
    assert selectors.VisitorHistory(user_key="s:b").signals.ratings == {50: 1.0}


@pytest.mark.parametrize("clock", ["later milliseconds", "one millisecond"])
def test_signals_list_movies_most_recent_first_each_once(catalogue, request, clock):
    if clock == "one millisecond":
        request.getfixturevalue("one_millisecond")
    for movie_id in (50, 100, 50, 127, 1, 181):
        services.record_click(user_key="s:a", movie_id=movie_id)
        if clock == "later milliseconds":
            time.sleep(0.002)
    signals = selectors.VisitorHistory(user_key="s:a").signals
    assert signals.movie_ids == [181, 1, 127, 50, 100]


def _genre_names(movie) -> list[str]:
    return [g.name for g in movie.genres_specific_first]


def _queries(run) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        run()
    return [q["sql"] for q in queries]


def test_movies_come_from_the_kept_catalogue_with_no_query(catalogue):
    """Once the process keeps the catalogue (read after a response), a page's
    movies cost no query, their genres in the order the movie's own give (the
    rarest first); an unknown id is one query, then kept as absent."""
    from movie.models import Genre, Movie

    war = Genre.objects.create(name="War", slug="war", movie_count=1)
    Genre.objects.filter(slug="sci-fi").update(movie_count=2)
    Genre.objects.filter(slug="drama").update(movie_count=2)
    catalogue[50].genres.add(war, Genre.objects.get(slug="drama"))
    selectors.read_ahead()
    found: dict = {}
    assert _queries(lambda: found.update(selectors.movies_by_id([50, 1]))) == []
    names = _queries(lambda: found.update(n50=_genre_names(found[50])))
    assert names == [] and found["n50"] == ["War", "Drama", "Sci-Fi"]
    assert found["n50"] == _genre_names(Movie.objects.get(pk=50))
    assert _genre_names(found[1]) == []
    assert len(_queries(lambda: selectors.movies_by_id([999]))) == 1
    assert _queries(lambda: selectors.movie_in_catalogue(999)) == []
    assert not selectors.movie_in_catalogue(999)


def test_a_movie_the_kept_catalogue_lacks_is_read_on_its_own(catalogue):
    """A movie added since the catalogue was kept (by another process: no
    signal here) is found, with its genres."""
    from movie.models import Genre, Movie

    selectors.read_ahead()
    Movie.objects.bulk_create([Movie(id=32, title="Crumb", year=1994)])
    drama = Genre.objects.get(slug="drama")
    Movie.genres.through.objects.bulk_create(
        [Movie.genres.through(movie_id=32, genre_id=drama.pk)]
    )
    assert selectors.movie_in_catalogue(32)
    crumb = selectors.movies_by_id([32])[32]
    assert _genre_names(crumb) == ["Drama"]


def test_a_movie_whose_genres_changed_between_the_reads_is_left_out(
    catalogue, monkeypatch
):
    """The catalogue's reads are not one snapshot: a pair naming a genre the
    first read did not see leaves its movie out, to be read on its own."""
    from movie.models import Genre

    seen = [g for g in Genre.objects.all() if g.slug != "drama"]
    monkeypatch.setattr(Genre.objects, "all", lambda: seen)  # added after it
    selectors.read_ahead()
    kept = selectors.genre_bar()
    assert sorted(kept.movies) == [1, 50, 181]  # Fargo and the Godfather out
    assert [g.name for g in kept.movies[50].genres_specific_first] == ["Sci-Fi"]
    assert [g.slug for g in kept.genres] == ["sci-fi"]
    monkeypatch.undo()
    assert selectors.movie_in_catalogue(100)  # not in it: looked up, found
    fargo = selectors.movies_by_id([100])[100]
    assert _genre_names(fargo) == ["Drama"]
    genres = selectors.catalogue_read().movies  # the posters' read, whole
    assert [g.name for g in genres[100].genres_specific_first] == ["Drama"]


def test_the_kept_catalogue_is_kept_no_longer_than_its_time(
    catalogue, settings, monkeypatch
):
    """A movie from the kept catalogue is at most CATALOGUE_CACHE_SECONDS old:
    past it, a process that read nothing ahead reads its movies one by one."""
    from movie.models import Movie

    clock = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock[0])
    selectors.read_ahead()  # the catalogue kept at 1000
    Movie.objects.filter(pk=100).update(title="Fargo Redux")  # no signal
    clock[0] += settings.CATALOGUE_CACHE_SECONDS - 1
    assert selectors.movies_by_id([100])[100].title == "Fargo"  # kept
    clock[0] += 1.5
    assert selectors.movies_by_id([100])[100].title == "Fargo Redux"


def test_what_is_in_use_is_read_ahead_past_half_its_time(
    catalogue, settings, monkeypatch
):
    """After a response, the catalogue and the shared lists asked for since
    their last read are read again once they are half their time old; a list
    nobody asked for expires."""
    from movie.models import Genre, Movie

    clock = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock[0])
    half = settings.CATALOGUE_CACHE_SECONDS / 2
    drama = Genre.objects.get(slug="drama")
    popular = lambda: selectors.shared_page(  # noqa: E731
        "popular", selectors.movie_list_popular(), 1
    )
    dramas = lambda: selectors.shared_page(  # noqa: E731
        "drama", selectors.movies_in_genre(genre=drama), 1
    )
    selectors.read_ahead()
    assert list(popular()) == [50, 100, 181, 1, 127]
    assert list(dramas()) == [100, 127]
    clock[0] += half - 1
    assert _queries(popular) == [] and _queries(selectors.read_ahead) == []
    Movie.objects.filter(pk=100).update(title="Fargo Redux", popularity=1)
    clock[0] += 2
    assert len(_queries(selectors.read_ahead)) == 3 + 1  # catalogue, popular
    clock[0] += 1
    assert _queries(popular) == [] and list(popular())[-1] == 100
    assert selectors.movies_by_id([100])[100].title == "Fargo Redux"
    assert list(dramas()) == [100, 127]  # not read ahead: the old order
    clock[0] += half
    assert list(dramas()) == [127, 100]  # expired, read now


def test_a_read_begun_before_a_save_is_not_kept(catalogue, monkeypatch):
    """A save in this process (another thread's, or one not yet committed
    when the read began) makes a read that began before it unkept: the next
    one reads the saved rows."""
    from movie.models import Movie

    read = selectors.catalogue_read

    def read_then_saved():
        catalogue = read()
        Movie.objects.get(pk=100).save()  # the save signal clears what is kept
        return catalogue

    monkeypatch.setattr(selectors, "catalogue_read", read_then_saved)
    selectors.read_ahead()
    assert selectors.genre_bar().movies == {}  # no fresh catalogue kept
    monkeypatch.undo()
    selectors.read_ahead()
    assert 100 in selectors.genre_bar().movies


def test_nothing_is_kept_with_no_catalogue_time(catalogue, settings):
    settings.CATALOGUE_CACHE_SECONDS = 0
    assert _queries(selectors.read_ahead) == []
    for _ in range(2):
        assert len(_queries(lambda: selectors.movies_by_id([50]))) == 2
    assert selectors._KEPT == {}


def test_a_page_reads_no_whole_catalogue_for_its_new_movies(catalogue):
    """Without a fresh kept catalogue (a process that served no response yet,
    or none for its time), movies are read one by one with their genres
    prefetched: two queries, not the catalogue's three."""
    found: dict = {}
    sql = _queries(lambda: found.update(selectors.movies_by_id([50, 100])))
    assert len(sql) == 2 and "movie_genre" in sql[1]
    assert _genre_names(found[50]) == ["Sci-Fi"]
    assert _genre_names(found[100]) == ["Drama"]
