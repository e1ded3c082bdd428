"""Who the visitor is: "u:<user id>" when logged in, else "v:<random id>".

The anonymous key is an opaque random id kept in the session data: never derived
from the session key, so what the API shows (`user_key`) cannot be sent back as a
cookie to act as the visitor. It is made only when the visitor first writes (a
click, a rating) or logs in, so reading a page, a poster or the API creates no
session. The session data survives the key rotation Django does at login, so the
login merge finds the anonymous key there.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest

ANON_KEY = "anon_visitor_key"
ANON_PREFIX = "v:"


def new_visitor_key() -> str:
    return ANON_PREFIX + secrets.token_urlsafe(16)


def visitor_key(request: HttpRequest) -> str | None:
    """The key to read the visitor's history with; None for a visitor who has not
    written anything yet (reads as an empty history). Creates no session."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    return request.session.get(ANON_KEY)


def visitor_key_for_writing(request: HttpRequest) -> str:
    """The key to record the visitor's events under, made (and the session with
    it) on the first write."""
    key = visitor_key(request)
    if key is None:
        key = new_visitor_key()
        request.session[ANON_KEY] = key
    return key
