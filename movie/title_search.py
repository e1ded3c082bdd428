"""Forgiving title search: typos, missing spaces and leading articles, best first.

RapidFuzz scores the query against every title of the catalogue (1,682 for
MovieLens-100k) in C, and the matches come back best first, more popular first
among equals. Titles and query are compared lower-cased, punctuation and a
leading article ("The", "A", ...) removed, by the better of two scores (0-100):

- `fuzz.token_set_ratio` of the words: the same words in another order, words
  left out ("raiders lost ark"), or a few letters wrong ("usual suspect");
- `fuzz.partial_ratio` with every space removed, so "starwars" meets "Star
  Wars", "godfahter" "The Godfather", and a query inside a longer title ("jedi")
  scores as a substring. Only against titles at least as long as the query: a
  one-letter title is not a perfect match for every query holding that letter.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process, utils

# Matches scoring below this (of 100) are left out.
SCORE_CUTOFF = 85.0
ARTICLES = ("the", "a", "an", "les", "la", "le", "il", "das", "die")


@dataclass(frozen=True)
class Title:
    movie_id: int
    title: str  # as people read it ("The Godfather", not "Godfather, The")
    popularity: int


def words_of(text: str) -> str:
    """Lower case, punctuation and a leading article removed; MovieLens's
    trailing one too ("Godfather, The")."""
    body, comma, tail = text.rpartition(",")
    if comma and tail.strip().lower() in ARTICLES and body.strip():
        text = body
    words = " ".join(utils.default_process(text).split())
    head, _, rest = words.partition(" ")
    return rest if head in ARTICLES and rest else words


@dataclass(frozen=True)
class _Index:
    """The titles prepared for scoring, built once per catalogue."""

    movie_ids: np.ndarray
    popularity: np.ndarray
    words: list[str]
    letters: list[str]
    lengths: np.ndarray


@functools.lru_cache(maxsize=4)
def _index(titles: tuple[Title, ...]) -> _Index:
    words = [words_of(t.title) for t in titles]
    letters = [w.replace(" ", "") for w in words]
    return _Index(
        movie_ids=np.array([t.movie_id for t in titles], dtype=np.int64),
        popularity=np.array([t.popularity for t in titles], dtype=np.int64),
        words=words,
        letters=letters,
        lengths=np.array([len(s) for s in letters]),
    )


def titles_ranked(
    query: str, titles: Sequence[Title], *, limit: int | None = None
) -> list[int]:
    """Movie ids of the titles matching `query`, best match first; ties go to the
    more popular movie, then the lower id."""
    words = words_of(query)
    letters = words.replace(" ", "")
    if not letters or not titles:
        return []
    index = _index(titles if isinstance(titles, tuple) else tuple(titles))
    by_words = process.cdist(
        [words], index.words, scorer=fuzz.token_set_ratio, workers=1
    )[0]
    by_letters = process.cdist(
        [letters], index.letters, scorer=fuzz.partial_ratio, workers=1
    )[0]
    scores = np.maximum(
        by_words, np.where(index.lengths >= len(letters), by_letters, 0)
    )
    hits = np.flatnonzero(scores >= SCORE_CUTOFF)
    # lexsort: the last key is the primary one.
    order = np.lexsort(
        (index.movie_ids[hits], -index.popularity[hits], -np.round(scores[hits]))
    )
    return [int(i) for i in index.movie_ids[hits[order]][:limit]]
