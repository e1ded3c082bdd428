"""Per-request values inside HTML that is rendered once per process.

A movie card is the same for every visitor of a language but for two values: the
CSRF token of its forms and the `next` path they return to. The templates write
a slot for each (`{% csrf_slot %}`, `{% next_slot %}`), so whole cards can be
kept as fragments (`{% cache %}`), and `SlotMiddleware` fills the slots of each
HTML response with this request's values: one masked CSRF token for all the
forms of the page (one `get_token` instead of one per form) and the page's own
path. The slot markers hold a random part made per process, so neither a
visitor nor the data can write one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.html import escape

# Where the sidebar and card forms return to: the page itself, but never a long
# query string copied into every form.
MAX_NEXT_LENGTH = 500

_PROCESS = secrets.token_hex(8)
CSRF_SLOT = f"csrf-slot-{_PROCESS}"
NEXT_SLOT = f"next-slot-{_PROCESS}"


def next_path(request: HttpRequest) -> str:
    """The path (and query) this page's forms return to."""
    full_path = request.get_full_path()
    return full_path if len(full_path) <= MAX_NEXT_LENGTH else request.path


_CSRF_BYTES, _NEXT_BYTES = CSRF_SLOT.encode(), NEXT_SLOT.encode()


def slots_filled(request: HttpRequest, content: bytes) -> bytes:
    """`content` with its slots holding this request's values."""
    if _CSRF_BYTES in content:
        content = content.replace(_CSRF_BYTES, get_token(request).encode())
    if _NEXT_BYTES in content:
        content = content.replace(_NEXT_BYTES, escape(next_path(request)).encode())
    return content


class SlotMiddleware:
    """Fills the slots of every HTML page. Placed after CsrfViewMiddleware, so
    the token it takes is seen by that middleware's response phase, which sets
    the CSRF cookie."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.streaming and response.get("Content-Type", "").startswith(
            "text/html"
        ):
            response.content = slots_filled(request, response.content)
        return response
