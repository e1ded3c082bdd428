"""JSON API for other clients; it uses the same services and selectors as the pages.

Writes need the session cookie and the CSRF token in the X-CSRFToken header
(`GET /api/csrf` hands out both). Every answer is JSON, errors included: 400 for a
malformed request, 413 above the body size limit, 415 for a body that is not
`application/json`.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.views import View

from movie import selectors, services
from movie.events import RECORDED_KINDS, EventError, check_kind, check_movie_id
from movie.forms import SearchForm
from movie.identity import visitor_key, visitor_key_for_writing
from movie.recommendations import selectors as recommendations
from movie.selectors import HistoryEntry

MAX_K = 100
MAX_IDS = 1000
MAX_HISTORY_LIMIT = 10_000
MAX_SUGGESTIONS = 20
# ASCII digits only: str.isdigit() accepts "²", which int() then refuses.
_DIGITS = re.compile(r"[0-9]{1,9}")


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def too_large() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error(f"request body larger than {limit} bytes", 413)


class JsonView(View):
    """A view whose errors are JSON too: 400 for BadRequest, 405 for a wrong method,
    413 for a body above DATA_UPLOAD_MAX_MEMORY_SIZE."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except BadRequest as exc:
            return error(str(exc), exc.status)
        except RequestDataTooBig:
            return too_large()

    def http_method_not_allowed(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = error(f"method {request.method} not allowed", 405)
        response["Allow"] = ", ".join(self._allowed_methods())
        return response


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object; BadRequest (415) unless sent as application/json.
    Reading the body first makes an oversized one a 413 whatever its type."""
    body = request.body
    if request.content_type != "application/json":
        raise BadRequest("send the body as Content-Type: application/json", 415)
    try:
        data = json.loads(body or b"", parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        # ValueError: not JSON, not UTF-8, NaN, or an integer beyond Python's
        # 4300-digit limit; RecursionError: nesting too deep.
        raise BadRequest("request body must be a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def query_int(request: HttpRequest, name: str, default: int, high: int) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= high:
        raise BadRequest(f"{name} must be an integer from 1 to {high}")
    return int(raw)


def entry_json(entry: HistoryEntry) -> dict[str, Any]:
    data = entry.event.to_dict()
    data["title"] = entry.movie.display_title if entry.movie else None
    return data


class CsrfView(JsonView):
    def get(self, request: HttpRequest) -> HttpResponse:
        """The CSRF token for X-CSRFToken, also set as the csrftoken cookie."""
        return JsonResponse({"csrfToken": get_token(request)})


class EventsView(JsonView):
    def post(self, request: HttpRequest) -> HttpResponse:
        data = json_body(request)
        unknown = set(data) - {"movie_id", "kind", "rating", "event_id"}
        if unknown:
            raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        try:
            # Checked before the visitor gets a key, so a bad body makes no session.
            kind = check_kind(data.get("kind"), RECORDED_KINDS)
            movie_id = check_movie_id(data.get("movie_id"))
        except EventError as exc:
            raise BadRequest(str(exc)) from None
        if kind != "rating" and data.get("rating") is not None:
            raise BadRequest(f"a {kind.replace('_', ' ')} event carries no rating")
        event_id = None
        if data.get("event_id") is not None:
            try:
                event_id = uuid.UUID(str(data["event_id"]))
            except ValueError:
                raise BadRequest("event_id must be a UUID") from None
        try:
            recorded = services.record_event(
                user_key=visitor_key_for_writing(request),
                movie_id=movie_id,
                kind=kind,
                rating=data.get("rating"),
                event_id=event_id,
            )
        except (services.UnknownMovie, EventError) as exc:
            raise BadRequest(str(exc)) from None
        except services.EventIdConflict as exc:
            raise BadRequest(str(exc), 409) from None
        status = 201 if recorded.created else 200
        return JsonResponse(recorded.event.to_dict(), status=status)


class HistoryView(JsonView):
    def get(self, request: HttpRequest) -> HttpResponse:
        limit = None
        if "limit" in request.GET:
            limit = query_int(request, "limit", 0, MAX_HISTORY_LIMIT)
        entries = selectors.history_for(user_key=visitor_key(request), limit=limit)
        return JsonResponse(
            {"events": [entry_json(e) for e in entries], "count": len(entries)}
        )

    def delete(self, request: HttpRequest) -> HttpResponse:
        key = visitor_key(request)
        if key is not None:
            services.clear_history(user_key=key)
        return HttpResponse(status=204)


class HistoryEventView(JsonView):
    def delete(self, request: HttpRequest, event_id: uuid.UUID) -> HttpResponse:
        try:
            services.delete_event(user_key=visitor_key(request), event_id=event_id)
        except services.UnknownEvent as exc:
            return error(str(exc), 404)
        return HttpResponse(status=204)


def _check_k(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_K:
        raise BadRequest(f"k must be an integer from 1 to {MAX_K}")
    return value


def recommendations_json(recs: recommendations.Recommendations) -> dict[str, Any]:
    return {
        "source": recs.source,
        "model_version": recs.model_version,
        "served_from": recs.served_from,
        "message": recs.message,
        "used_ids": recs.used_ids,
        "unknown_ids": recs.unknown_ids,
        "not_interested_ids": recs.not_interested_ids,
        "recommendations": [
            {
                "rank": item.rank,
                "movie_id": item.movie.pk,
                "title": item.movie.display_title,
                "score": item.score,
                "because": [m.pk for m in item.because],
            }
            for item in recs.items
        ],
    }


class RecommendationsView(JsonView):
    def get(self, request: HttpRequest) -> HttpResponse:
        """Recommendations for the current visitor's own history."""
        k = query_int(request, "k", 10, MAX_K)
        recs = recommendations.recommendations_for(user_key=visitor_key(request), k=k)
        return _shown(request, recs)

    def post(self, request: HttpRequest) -> HttpResponse:
        """Stateless: recommendations for the given movie ids (nothing stored)."""
        data = json_body(request)
        unknown = set(data) - {"movie_ids", "k"}
        if unknown:
            raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        k = _check_k(data.get("k", 10))
        ids = data.get("movie_ids")
        if not isinstance(ids, list):
            raise BadRequest("movie_ids must be a list of integers")
        if len(ids) > MAX_IDS:
            raise BadRequest(f"at most {MAX_IDS} movie_ids")
        try:
            ids = [check_movie_id(m) for m in ids]
        except EventError as exc:
            raise BadRequest(f"movie_ids: {exc}") from None
        recs = recommendations.recommendations_for_movies(movie_ids=ids, k=k)
        return _shown(request, recs)


class SuggestView(JsonView):
    def get(self, request: HttpRequest) -> HttpResponse:
        """Titles for the search box as one types: `?q=` (as the search page
        takes it) and `limit` (1..20, default 8), best match first."""
        form = SearchForm(request.GET)
        if not form.is_valid():
            raise BadRequest("q: " + " ".join(form.errors["q"]))
        limit = query_int(request, "limit", 8, MAX_SUGGESTIONS)
        ids = selectors.movie_search(query=form.cleaned_data["q"], limit=limit)
        movies = selectors.movies_in_order(movie_ids=ids)
        return JsonResponse(
            {"suggestions": [{"id": m.pk, "title": m.display_title} for m in movies]}
        )


def _shown(request: HttpRequest, recs: recommendations.Recommendations) -> HttpResponse:
    """The recommendations as JSON, recorded as an impression of surface "api"."""
    request_id = uuid.uuid4().hex
    services.record_impression(
        user_key=visitor_key(request),
        surface="api",
        model_version=recs.model_version,
        movie_ids=[item.movie.pk for item in recs.items],
        request_id=request_id,
    )
    return JsonResponse({**recommendations_json(recs), "request_id": request_id})


class ModelView(JsonView):
    def get(self, request: HttpRequest) -> HttpResponse:
        """The model version this process serves."""
        return JsonResponse(recommendations.served_model())
