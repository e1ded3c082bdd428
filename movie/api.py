"""JSON API for other clients; it uses the same services and selectors as the pages.

Writes need the session cookie and the CSRF token in the X-CSRFToken header.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View

from movie import selectors, services
from movie.events import EventError
from movie.recommendations import selectors as recommendations
from movie.selectors import HistoryEntry

MAX_BODY_BYTES = 64 * 1024


class BadRequest(Exception):
    pass


def error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


class JsonView(View):
    """A view whose errors are JSON too: 400 for BadRequest, 405 for a wrong method."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except BadRequest as exc:
            return error(str(exc))

    def http_method_not_allowed(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = error(f"method {request.method} not allowed", 405)
        response["Allow"] = ", ".join(self._allowed_methods())
        return response


def json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    try:
        data = json.loads(request.body or b"")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("request body must be a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def entry_json(entry: HistoryEntry) -> dict[str, Any]:
    data = entry.event.to_dict()
    data["title"] = entry.movie.display_title if entry.movie else None
    return data


class EventsView(JsonView):
    def post(self, request: HttpRequest) -> HttpResponse:
        data = json_body(request)
        unknown = set(data) - {"movie_id", "kind", "rating", "event_id"}
        if unknown:
            raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        kind = data.get("kind")
        if kind not in ("click", "rating"):
            raise BadRequest('kind must be "click" or "rating"')
        movie_id = data.get("movie_id")
        if isinstance(movie_id, bool) or not isinstance(movie_id, int):
            raise BadRequest("movie_id must be an integer")
        if kind == "click" and data.get("rating") is not None:
            raise BadRequest("a click carries no rating")
        event_id = None
        if data.get("event_id") is not None:
            try:
                event_id = uuid.UUID(str(data["event_id"]))
            except ValueError:
                raise BadRequest("event_id must be a UUID") from None
        try:
            event = services.event_record(
                user_key=request.visitor_key,
                movie_id=movie_id,
                kind=kind,
                rating=data.get("rating"),
                event_id=event_id,
            )
        except services.UnknownMovie as exc:
            raise BadRequest(str(exc)) from None
        except EventError as exc:
            raise BadRequest(str(exc)) from None
        return JsonResponse(event.to_dict(), status=201)


class HistoryView(JsonView):
    def get(self, request: HttpRequest) -> HttpResponse:
        limit = request.GET.get("limit")
        if limit is not None:
            if not limit.isdigit() or not 1 <= int(limit) <= 10_000:
                raise BadRequest("limit must be an integer from 1 to 10000")
            limit = int(limit)
        entries = selectors.history_for(user_key=request.visitor_key, limit=limit)
        return JsonResponse(
            {"events": [entry_json(e) for e in entries], "count": len(entries)}
        )

    def delete(self, request: HttpRequest) -> HttpResponse:
        services.history_clear(user_key=request.visitor_key)
        return HttpResponse(status=204)


class HistoryEventView(JsonView):
    def delete(self, request: HttpRequest, event_id: uuid.UUID) -> HttpResponse:
        try:
            services.history_delete(user_key=request.visitor_key, event_id=event_id)
        except services.UnknownEvent as exc:
            return error(str(exc), 404)
        return HttpResponse(status=204)


MAX_K = 100
MAX_IDS = 1000


def _parse_k(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_K:
        raise BadRequest(f"k must be an integer from 1 to {MAX_K}")
    return value


def recommendations_json(recs: recommendations.Recommendations) -> dict[str, Any]:
    return {
        "source": recs.source,
        "message": recs.message,
        "used_ids": recs.used_ids,
        "unknown_ids": recs.unknown_ids,
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
        raw = request.GET.get("k", "10")
        k = _parse_k(int(raw) if raw.isdigit() else None)
        recs = recommendations.recommendations_for(user_key=request.visitor_key, k=k)
        return JsonResponse(recommendations_json(recs))

    def post(self, request: HttpRequest) -> HttpResponse:
        """Stateless: recommendations for the given movie ids (nothing stored)."""
        data = json_body(request)
        unknown = set(data) - {"movie_ids", "k"}
        if unknown:
            raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        k = _parse_k(data.get("k", 10))
        ids = data.get("movie_ids")
        if not isinstance(ids, list):
            raise BadRequest("movie_ids must be a list of integers")
        if len(ids) > MAX_IDS:
            raise BadRequest(f"at most {MAX_IDS} movie_ids")
        if any(isinstance(m, bool) or not isinstance(m, int) for m in ids):
            raise BadRequest("movie_ids must be a list of integers")
        recs = recommendations.recommendations_for_movies(movie_ids=ids, k=k)
        return JsonResponse(recommendations_json(recs))
