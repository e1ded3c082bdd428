import functools

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html

from movie import page_slots
from movie.event_labels import NO_MARK, MovieMark

register = template.Library()


@register.filter
def mark_of(marks: dict, movie_id: int) -> MovieMark:
    """`{{ marks|mark_of:movie.pk }}`: the visitor's mark of a movie, NO_MARK
    (falsy) for one they did nothing to or where a page has no marks."""
    return marks.get(movie_id, NO_MARK) if isinstance(marks, dict) else NO_MARK


@register.filter
def card_key(movie, marks: dict) -> str:
    """`{{ movie|card_key:marks }}`: all a card shows but the language (the
    movie's `card_shown` and the visitor's mark of it), for keeping it as a
    fragment."""
    mark = mark_of(marks, movie.pk)
    return f"{movie.card_shown}:{mark.css}:{mark.text}"


@register.filter
def cards_key(movies, marks: dict) -> str:
    """`{{ movies|cards_key:marks }}`: the keys of a row's cards, so the row is
    kept as one fragment over the kept cards."""
    return "|".join(card_key(movie, marks) for movie in movies)


@register.filter
def entry_key(entry) -> str:
    """`{{ entry|entry_key }}`: all a history entry shows but the language (the
    event, what it does now, its movie's title and year)."""
    event, movie = entry.event, entry.movie
    shown = f"{event.event_id}:{event.kind}:{event.rating}:{entry.effect}:"
    return shown + ("" if movie is None else f"{movie.title}:{movie.year}")


@register.filter
def entries_key(entries) -> str:
    """`{{ entries|entries_key }}`: the keys of a list of history entries."""
    return "|".join(entry_key(entry) for entry in entries)


# Enough for every movie's four links and a few thousand history entries.
URL_CACHE_SIZE = 20_000


@functools.lru_cache(maxsize=URL_CACHE_SIZE)
def _reversed(urlconf: str | None, prefix: str, name: str, args: tuple) -> str:
    # `urlconf` and `prefix` are part of the key only: reverse() reads the
    # thread's own, which are these.
    return reverse(name, args=args)


@register.simple_tag
def cached_url(name: str, *args: object) -> str:
    """`{% url name arg ... %}` reversed once per process: a movie's or a page's
    URL is fixed for a URLconf and script prefix, and a grid reverses about a
    hundred of them per page (docs/BENCHMARKS.md, "Where a page's time goes")."""
    return _reversed(get_urlconf(), get_script_prefix(), name, args)


@register.simple_tag
def csrf_slot() -> str:
    """`{% csrf_token %}` as a slot that movie.page_slots fills per request, so
    a form may sit inside a fragment kept for every visitor."""
    return format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">',
        page_slots.CSRF_SLOT,
    )


@register.simple_tag
def next_slot() -> str:
    """The page's own path for a form's `next` field, filled per request."""
    return page_slots.NEXT_SLOT
