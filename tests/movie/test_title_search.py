"""Forgiving title search over the real kinds of MovieLens titles."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from movie.title_search import Title, titles_ranked, words_of, words_with_article

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


def ranked(query: str, titles: list[Title]) -> list[str]:
    names = {t.movie_id: t.title for t in titles}
    return [names[i] for i in titles_ranked(query, titles)]


def found(query: str) -> list[str]:
    return ranked(query, TITLES)


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
    world = [
        Title(1, "The Godfather", 10),
        Title(2, "The Godfather: Part II", 900),
        Title(3, "The Terminator", 20),
        Title(4, "Terminator 2: Judgment Day", 800),
        Title(5, "Terminator 3: Rise of the Machines", 700),
    ]
    # The exact title first although the sequels are far more popular; the
    # sequels, equally good matches, by popularity.
    assert ranked("the godfather", world) == [
        "The Godfather",
        "The Godfather: Part II",
    ]
    assert ranked("terminator", world) == [
        "The Terminator",
        "Terminator 2: Judgment Day",
        "Terminator 3: Rise of the Machines",
    ]


def test_tiers_from_exact_to_fuzzy_whatever_the_popularity():
    # The less well a title matches, the more popular it is here.
    world = [
        Title(1, "Terminator", 1),  # exact
        Title(2, "Terminator 2", 2),  # at the start, as a whole word
        Title(3, "Terminators", 3),  # at the start, inside a word
        Title(4, "The Last Terminator", 4),  # a whole word
        Title(5, "Return of the Terminators", 5),  # the start of a word
        Title(6, "Exterminators", 6),  # inside a word
        Title(7, "Terminater Rises", 7),  # a typo
        Title(8, "Toy Story", 8),  # no match
    ]
    assert titles_ranked("terminator", world) == [1, 2, 3, 4, 5, 6, 7]


def test_star_finds_the_star_films_not_lost_ark():
    world = [
        Title(174, "Raiders of the Lost Ark", 420),
        Title(50, "Star Wars", 583),
        Title(222, "Star Trek: First Contact", 365),
        Title(228, "Star Trek: The Wrath of Khan", 250),
        Title(229, "Star Trek III: The Search for Spock", 206),
        Title(230, "Star Trek IV: The Voyage Home", 171),
        Title(271, "Starship Troopers", 211),
        Title(124, "Lone Star", 187),
        Title(1, "Toy Story", 452),
    ]
    found_ = ranked("star", world)
    # "lo(st ar)k" holds "star" once the spaces are gone: no match.
    assert "Raiders of the Lost Ark" not in found_
    assert found_ == [
        "Star Wars",
        "Star Trek: First Contact",
        "Star Trek: The Wrath of Khan",
        "Star Trek III: The Search for Spock",
        "Star Trek IV: The Voyage Home",
        "Starship Troopers",
        "Lone Star",
    ]
    assert ranked("starwars", world)[0] == "Star Wars"
    assert ranked("startrek", world)[:4] == found_[1:5]


def test_love_puts_the_titles_starting_with_love_first():
    world = [
        Title(
            474,
            "Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb",
            194,
        ),
        Title(286, "Immortal Beloved", 200),
        Title(535, "Addicted to Love", 140),
        Title(139, "The Love Bug", 50),
        Title(872, "Love Jones", 40),
    ]
    assert ranked("love", world) == [
        "The Love Bug",
        "Love Jones",
        "Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb",
        "Addicted to Love",
        "Immortal Beloved",
    ]


def test_one_or_two_letters_match_only_at_the_start_of_a_word():
    world = [
        Title(313, "Titanic", 350),
        Title(79, "The Fugitive", 336),
        Title(942, "What's Love Got to Do with It", 60),
        Title(1264, "Italian for Beginners", 5),
        Title(93, "It's a Wonderful Life", 231),
        Title(1011, "A Fish Called Wanda", 180),
        Title(144, "Die Hard", 243),
    ]
    assert ranked("it", world) == [
        "It's a Wonderful Life",
        "Italian for Beginners",
        "What's Love Got to Do with It",
    ]
    assert ranked("a", world) == ["A Fish Called Wanda", "It's a Wonderful Life"]


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
    assert words_with_article("Godfather, The") == "the godfather"


def test_the_article_is_optional_in_titles_and_queries():
    assert found("godfather")[0] == found("the godfather")[0] == "The Godfather"
    assert found("the star wars") == ["Star Wars"]


@given(st.text(max_size=60))
def test_any_query_gives_known_ids_each_once(query):
    ids = titles_ranked(query, TITLES)
    assert len(ids) == len(set(ids))
    assert set(ids) <= set(NAMES)
