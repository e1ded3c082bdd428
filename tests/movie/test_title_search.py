"""Forgiving title search over the real kinds of MovieLens titles."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from movie.title_search import Title, titles_ranked, words_of

TITLES = [
    Title(50, "Star Wars", 583),
    Title(172, "The Empire Strikes Back", 367),
    Title(181, "Return of the Jedi", 507),
    Title(127, "The Godfather", 413),
    Title(187, "The Godfather: Part II", 209),
    Title(195, "The Terminator", 301),
    Title(96, "Terminator 2: Judgment Day", 295),
    Title(174, "Raiders of the Lost Ark", 420),
    Title(12, "The Usual Suspects", 267),
    Title(7, "Twelve Monkeys", 392),
    Title(1, "Toy Story", 452),
    Title(1000, "M", 3),
    Title(1001, "Ed", 8),
    Title(100, "Fargo", 508),
]
NAMES = {t.movie_id: t.title for t in TITLES}


def found(query: str) -> list[str]:
    return [NAMES[i] for i in titles_ranked(query, TITLES)]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("starwars", "Star Wars"),
        ("godfahter", "The Godfather"),
        ("terminater", "The Terminator"),
        ("usual suspect", "The Usual Suspects"),
        ("raiders lost ark", "Raiders of the Lost Ark"),
        ("twelve monkys", "Twelve Monkeys"),
        ("Empire strikes", "The Empire Strikes Back"),
        ("Godfather, The", "The Godfather"),
        ("JEDI", "Return of the Jedi"),
    ],
)
def test_typos_missing_spaces_and_articles_are_forgiven(query, first):
    assert found(query)[0] == first


def test_best_match_first_then_more_popular():
    # "The Godfather" matches exactly; Part II only contains the query.
    assert found("the godfather") == ["The Godfather", "The Godfather: Part II"]
    # Both hold "terminator" whole: the more popular first.
    assert found("terminator") == ["The Terminator", "Terminator 2: Judgment Day"]


def test_short_titles_do_not_match_every_query_that_holds_them():
    assert "M" not in found("empire strikes")
    assert "Ed" not in found("jedi")


def test_nothing_for_nonsense_or_empty_queries():
    assert found("xyzzy qqq") == []
    assert found("") == found("   ") == found("!!!") == []
    assert titles_ranked("star wars", []) == []


def test_limit():
    assert len(titles_ranked("the", TITLES, limit=2)) == 2


def test_words_of_drops_case_punctuation_and_articles():
    assert words_of("The Godfather: Part II") == "godfather part ii"
    assert words_of("Godfather, The") == "godfather"
    assert words_of("The") == "the"  # an article alone is the word itself


@given(st.text(max_size=60))
def test_any_query_gives_known_ids_each_once(query):
    ids = titles_ranked(query, TITLES)
    assert len(ids) == len(set(ids))
    assert set(ids) <= set(NAMES)
