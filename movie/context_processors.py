"""Puts the visitor's recent history and the genre list on every page."""

from django.conf import settings
from django.http import HttpRequest

from movie import selectors


def visitor(request: HttpRequest) -> dict:
    from movie.views import visitor_history

    return {
        # the view's own read of the history, evaluated only by a page that shows
        # the sidebar
        "sidebar_history": lambda: visitor_history(request).sidebar(),
        # called once when the page renders the genre bar
        "genre_bar": selectors.genre_bar,
        "fragment_seconds": settings.FRAGMENT_CACHE_SECONDS,
    }
