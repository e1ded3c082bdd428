"""Puts the visitor's recent history and the genre list on every page."""

from django.conf import settings
from django.http import HttpRequest

from movie import selectors


def visitor(request: HttpRequest) -> dict:
    from movie.views import MAX_NEXT_LENGTH, visitor_history

    # Where the sidebar forms return to: the page itself, but never a long query
    # string copied into every form.
    full_path = request.get_full_path()
    return {
        "next_path": full_path if len(full_path) <= MAX_NEXT_LENGTH else request.path,
        # the view's own read of the history, evaluated only by a page that shows
        # the sidebar
        "sidebar_history": lambda: visitor_history(request).sidebar(),
        "all_genres": selectors.genre_list,
        "catalogue_seconds": settings.CATALOGUE_CACHE_SECONDS,
    }
