"""HTML pages. Each view parses input, calls one service or selector, renders."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.contrib.auth import login
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from movie import selectors, services
from movie.forms import RatingForm, SignupForm
from movie.models import Genre, Movie
from movie.posters import poster_svg
from movie.recommendations import selectors as recommendations

POSTER_MAX_AGE = 7 * 24 * 3600


def _page(request: HttpRequest, movies):
    paginator = Paginator(movies, settings.MOVIES_PER_PAGE)
    return paginator.get_page(request.GET.get("page"))


def _next_url(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _movie_list(
    request: HttpRequest, template: str, movies, heading: str, **context
) -> HttpResponse:
    """A paginated list of movies with the visitor's ratings."""
    page = _page(request, movies)
    context.update(page=page, heading=heading, ratings=_ratings(request))
    return render(request, template, context)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _movie_list(
        request, "movie/home.html", selectors.movie_list_popular(), "Popular movies"
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    heading = f"Search: “{query}”" if query.strip() else "Search"
    movies = selectors.movie_search(query=query)
    return _movie_list(request, "movie/search.html", movies, heading, query=query)


@require_GET
def genre_detail(request: HttpRequest, slug: str) -> HttpResponse:
    genre = get_object_or_404(Genre, slug=slug)
    movies = selectors.movies_in_genre(genre=genre)
    return _movie_list(request, "movie/genre.html", movies, genre.name, genre=genre)


@require_GET
def movie_detail(request: HttpRequest, movie_id: int) -> HttpResponse:
    movie = get_object_or_404(Movie.objects.prefetch_related("genres"), pk=movie_id)
    rating = selectors.rating_for(user_key=request.visitor_key, movie_id=movie.pk)
    form = RatingForm(initial={"rating": str(rating) if rating else "4.0"})
    similar = recommendations.similar_movies(movie_id=movie.pk)
    return render(
        request,
        "movie/detail.html",
        {"movie": movie, "rating": rating, "form": form, "similar": similar},
    )


@require_GET
def ngcf(request: HttpRequest) -> HttpResponse:
    """Ten NGCF recommendations, fine-tuned for this visitor inside the request."""
    watched = selectors.history_for(user_key=request.visitor_key)
    recs = recommendations.recommendations_for(
        user_key=request.visitor_key, k=10, history=watched
    )
    return render(request, "movie/ngcf.html", {"recs": recs, "watched": watched})


@require_GET
def ngcf_about(request: HttpRequest) -> HttpResponse:
    return render(request, "movie/ngcf_about.html", recommendations.model_card())


@require_GET
def ngcf_curve(request: HttpRequest) -> HttpResponse:
    path = recommendations.training_curve_path()
    if path is None:
        return not_found(request)
    response = FileResponse(path.open("rb"), content_type="image/png")
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def poster(request: HttpRequest, movie_id: int) -> HttpResponse:
    movie = get_object_or_404(Movie.objects.prefetch_related("genres"), pk=movie_id)
    svg = poster_svg(
        movie_id=movie.pk,
        title=movie.natural_title,
        year=movie.year,
        genres=[g.name for g in movie.genres.all()],
    )
    etag = '"' + hashlib.sha256(svg.encode()).hexdigest()[:32] + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(svg, content_type="image/svg+xml")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={POSTER_MAX_AGE}"
    return response


@require_POST
def movie_click(request: HttpRequest, movie_id: int) -> HttpResponse:
    """A poster click: log it, then go on to the movie's page (works without JS)."""
    movie = get_object_or_404(Movie, pk=movie_id)
    services.click_log(user_key=request.visitor_key, movie_id=movie.pk)
    return redirect("movie:detail", movie_id=movie.pk)


@require_POST
def movie_rate(request: HttpRequest, movie_id: int) -> HttpResponse:
    movie = get_object_or_404(Movie, pk=movie_id)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "Rating must be one of 0.5, 1.0, … 5.0.", content_type="text/plain"
        )
    services.rating_set(
        user_key=request.visitor_key,
        movie_id=movie.pk,
        rating=form.cleaned_data["rating"],
    )
    return redirect("movie:detail", movie_id=movie.pk)


@require_POST
def history_delete(request: HttpRequest, event_id: uuid.UUID) -> HttpResponse:
    try:
        services.history_delete(user_key=request.visitor_key, event_id=event_id)
    except services.UnknownEvent as exc:
        return render(request, "404.html", {"message": str(exc)}, status=404)
    return redirect(_next_url(request, reverse("movie:home")))


@require_POST
def history_clear(request: HttpRequest) -> HttpResponse:
    services.history_clear(user_key=request.visitor_key)
    return redirect(_next_url(request, reverse("movie:home")))


def signup(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("movie:home")
    elif request.method == "GET":
        form = SignupForm()
    else:
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    return render(request, "registration/signup.html", {"form": form})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    message = "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken."
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message, "reason": reason}, status=403)
    return render(request, "403_csrf.html", {"message": message}, status=403)


def _ratings(request: HttpRequest) -> dict[int, float]:
    return selectors.ratings_for(user_key=request.visitor_key)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not found"}, status=404)
    return render(request, "404.html", {"message": "Page not found."}, status=404)
