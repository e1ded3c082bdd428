"""Puts the visitor's recent history and the genre list on every page."""

from django.http import HttpRequest

from movie import selectors
from movie.identity import visitor_key


def visitor(request: HttpRequest) -> dict:
    from movie.views import MAX_NEXT_LENGTH

    # Where the sidebar forms return to: the page itself, but never a long query
    # string copied into every form.
    full_path = request.get_full_path()
    return {
        "next_path": full_path if len(full_path) <= MAX_NEXT_LENGTH else request.path,
        "sidebar_history": lambda: selectors.history_sidebar(
            user_key=visitor_key(request)
        ),
        "all_genres": selectors.genre_list,
    }
