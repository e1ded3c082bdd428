"""Forgiving title search: typos, missing spaces and leading articles, best first.

Titles and query are compared lower-cased, punctuation removed, with and without
a leading article ("The", "A", ...; MovieLens's trailing ", The" too) and with
their spaces removed, so "starwars" meets "Star Wars", "godfather" and "the god
father" "The Godfather". Each title falls in the best tier it reaches (`Tier`):
the query as the whole title; at its start, ending where a word ends, then
inside a word; as whole words elsewhere; at the start of a word; inside one
word; else a fuzzy score of 85 (of 100) or more. The letters of a title match
the query only where the match begins a word or lies inside one word: "star" is
not in "Raiders of the Lost Ark" although "lo(st ar)k" holds it once the spaces
are gone. A query of one or two letters matches only at the start of a word.
Matches come back by tier, the fuzzy ones by score, then the more popular
first, then the lower id.

The fuzzy score, for typos ("godfahter", "twelve monkys") and words left out or
in another order ("raiders lost ark"), is RapidFuzz's, computed in C for every
title (1,682 in MovieLens-100k), both without leading articles: the better of
- `fuzz.token_set_ratio` of the words, and
- `fuzz.partial_ratio` of the letters, against titles at least as long as the
  query (a one-letter title is not a perfect match for every query holding that
  letter) and only where the title's best-matching stretch begins a word.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from rapidfuzz import fuzz, process, utils

# Fuzzy matches scoring below this (of 100) are left out.
SCORE_CUTOFF = 85.0
# Queries of this many letters or fewer match only at the start of a word.
SHORT_QUERY = 2
ARTICLES = ("the", "a", "an", "les", "la", "le", "il", "das", "die")


class Tier(IntEnum):
    """How well a title matches the query, best last; 0 is no match."""

    FUZZY = 1  # a fuzzy score of SCORE_CUTOFF or more
    INSIDE_WORD = 2  # "heat" in "Mystery Science Theater 3000"
    WORD_PREFIX = 3  # "it" in "Bad Moon Rising Italian"
    WHOLE_WORDS = 4  # "love" in "Addicted to Love"
    STARTS = 5  # "star" in "Starship Troopers"
    STARTS_WITH_WORDS = 6  # "star" in "Star Trek: Generations"
    EXACT = 7  # "starwars" for "Star Wars"


@dataclass(frozen=True)
class Title:
    movie_id: int
    title: str  # as people read it ("The Godfather", not "Godfather, The")
    popularity: int


def words_with_article(text: str) -> str:
    """Lower case, punctuation removed, MovieLens's trailing article put in
    front ("Godfather, The": "the godfather")."""
    body, comma, tail = text.rpartition(",")
    if comma and tail.strip().lower() in ARTICLES and body.strip():
        text = f"{tail} {body}"
    return " ".join(utils.default_process(text).split())


def words_of(text: str) -> str:
    """`words_with_article` without a leading article ("godfather")."""
    words = words_with_article(text)
    head, _, rest = words.partition(" ")
    return rest if head in ARTICLES and rest else words


@dataclass(frozen=True)
class Spelling:
    """Words without their spaces, and where each word begins and ends in them
    ("star wars": "starwars", starts {0, 4}, ends {4, 8})."""

    letters: str
    starts: frozenset[int]
    ends: frozenset[int]

    @classmethod
    def of(cls, words: str) -> Spelling:
        starts, ends, at = [], [], 0
        for word in words.split():
            starts.append(at)
            at += len(word)
            ends.append(at)
        return cls(words.replace(" ", ""), frozenset(starts), frozenset(ends))

    def tier_at(self, begin: int, end: int) -> Tier | int:
        """The tier of a match of letters[begin:end]; 0 for none."""
        if begin not in self.starts:
            crosses_a_word = any(begin < start < end for start in self.starts)
            return 0 if crosses_a_word else Tier.INSIDE_WORD
        whole = end in self.ends
        if begin == 0:
            if end == len(self.letters):
                return Tier.EXACT
            return Tier.STARTS_WITH_WORDS if whole else Tier.STARTS
        return Tier.WHOLE_WORDS if whole else Tier.WORD_PREFIX

    def tier(self, query: str) -> Tier | int:
        """The best tier among the places the letters of `query` occur."""
        best, at = 0, self.letters.find(query)
        while at >= 0 and best < Tier.EXACT:
            best = max(best, self.tier_at(at, at + len(query)))
            at = self.letters.find(query, at + 1)
        return best


def spellings_of(text: str) -> tuple[Spelling, ...]:
    """The text with and without its leading article: "The Godfather" is both
    "the godfather" and "godfather"."""
    forms = dict.fromkeys((words_with_article(text), words_of(text)))
    return tuple(Spelling.of(words) for words in forms)


@dataclass(frozen=True)
class _Index:
    """The titles prepared for scoring, built once per catalogue."""

    movie_ids: np.ndarray
    popularity: np.ndarray
    words: list[str]  # without a leading article
    spellings: list[tuple[Spelling, ...]]  # the last one without the article
    lengths: np.ndarray  # of the letters without the article


@functools.lru_cache(maxsize=4)
def _index(titles: tuple[Title, ...]) -> _Index:
    spellings = [spellings_of(t.title) for t in titles]
    return _Index(
        movie_ids=np.array([t.movie_id for t in titles], dtype=np.int64),
        popularity=np.array([t.popularity for t in titles], dtype=np.int64),
        words=[words_of(t.title) for t in titles],
        spellings=spellings,
        lengths=np.array([len(s[-1].letters) for s in spellings]),
    )


def _tiers(query: str, index: _Index) -> np.ndarray:
    """Each title's best tier for the letters of `query`, over its spellings."""
    tiers = np.array(
        [max(s.tier(query) for s in forms) for forms in index.spellings],
        dtype=np.int64,
    )
    if len(query) <= SHORT_QUERY:
        tiers[tiers < Tier.WORD_PREFIX] = 0
    return tiers


def _fuzzy_scores(words: str, index: _Index, unmatched: np.ndarray) -> np.ndarray:
    """The fuzzy score (0-100) of each `unmatched` title, 0 for the others."""
    letters = words.replace(" ", "")
    by_words = process.cdist(
        [words], index.words, scorer=fuzz.token_set_ratio, workers=1
    )[0]
    by_letters = process.cdist(
        [letters],
        [s[-1].letters for s in index.spellings],
        scorer=fuzz.partial_ratio,
        workers=1,
    )[0]
    by_letters[index.lengths < len(letters)] = 0
    for i in np.flatnonzero(
        unmatched & (by_letters >= SCORE_CUTOFF) & (by_letters > by_words)
    ):
        title = index.spellings[i][-1]
        stretch = fuzz.partial_ratio_alignment(letters, title.letters)
        if stretch.dest_start not in title.starts:
            by_letters[i] = 0
    return np.where(unmatched, np.maximum(by_words, by_letters), 0)


def titles_ranked(
    query: str, titles: Sequence[Title], *, limit: int | None = None
) -> list[int]:
    """Movie ids of the titles matching `query`, best tier first; within a tier
    the better fuzzy score, then the more popular movie, then the lower id."""
    letters = words_with_article(query).replace(" ", "")
    if not letters or not titles:
        return []
    index = _index(titles if isinstance(titles, tuple) else tuple(titles))
    tiers = _tiers(letters, index)
    scores = np.zeros(len(tiers))
    words = words_of(query)
    if len(words.replace(" ", "")) > SHORT_QUERY:
        scores = _fuzzy_scores(words, index, unmatched=tiers == 0)
        tiers[scores >= SCORE_CUTOFF] = Tier.FUZZY
    hits = np.flatnonzero(tiers)
    # lexsort: the last key is the primary one.
    order = np.lexsort(
        (
            index.movie_ids[hits],
            -index.popularity[hits],
            -np.round(scores[hits]),
            -tiers[hits],
        )
    )
    return [int(i) for i in index.movie_ids[hits[order]][:limit]]
