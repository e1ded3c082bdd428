"""Who the visitor is: "u:<user id>" when logged in, else "s:<session key>".

An anonymous visitor gets a session on the first request, so the very first click
already has a key of its own. The anonymous key is kept in the session data, which
survives the key rotation Django does at login, so the login merge can find it.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

ANON_KEY = "anon_visitor_key"


def visitor_key_for(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    session = request.session
    key = session.get(ANON_KEY)
    if key is None:
        if session.session_key is None:
            session.save()
        key = f"s:{session.session_key}"
        session[ANON_KEY] = key
    return key


class VisitorMiddleware:
    """Sets `request.visitor_key` (after the session and auth middleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.visitor_key = visitor_key_for(request)
        return self.get_response(request)
