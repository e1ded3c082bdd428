"""Puts the visitor's recent history and the genre list on every page."""

from django.http import HttpRequest

from movie import selectors


def visitor(request: HttpRequest) -> dict:
    key = getattr(request, "visitor_key", None)
    if key is None:
        return {}
    return {
        "sidebar_history": lambda: selectors.history_sidebar(user_key=key),
        "all_genres": selectors.genre_list,
    }
