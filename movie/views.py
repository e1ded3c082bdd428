"""HTML pages. Each view parses input, calls one service or selector, renders."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.core.paginator import InvalidPage, Page, Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from movie import api, dashboard, poster_cache, selectors, services, telemetry
from movie.forms import RATING_ERROR, DialForm, RatingForm, SearchForm, SignupForm
from movie.identity import visitor_key, visitor_key_for_writing
from movie.impressions import POPULAR_VERSION
from movie.models import Genre, Movie
from movie.page_slots import MAX_NEXT_LENGTH
from movie.recommendations import selectors as recommendations

DIAL_SESSION_KEY = "ngcf_centring"


def _page(request: HttpRequest, movies, shared_as: str | None = None) -> Page:
    """The requested page; a page number that is not one of them is a 404.
    `shared_as` names a list every visitor sees alike, whose movie ids each
    process keeps for a while (selectors.shared_page)."""
    number = request.GET.get("page") or 1
    try:
        if shared_as is not None:
            return selectors.shared_page(shared_as, movies, number)
        return Paginator(movies, settings.MOVIES_PER_PAGE).page(number)
    except InvalidPage:
        raise Http404("no such page") from None


def _next_url(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
    if len(target) <= MAX_NEXT_LENGTH and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _movie_list(
    request: HttpRequest,
    template: str,
    movies,
    heading: str,
    surface: str | None = None,
    shared_as: str | None = None,
    **context,
) -> HttpResponse:
    """A paginated list of movies (or of movie ids, loaded a page at a time), each
    marked when the visitor clicked or rated it, recorded as an impression of
    `surface` when given."""
    page = _page(request, movies, shared_as)
    if page.object_list and isinstance(page.object_list[0], int):
        page.object_list = selectors.movies_in_order(movie_ids=list(page.object_list))
    if surface is not None:
        record_shown(request, surface, POPULAR_VERSION, [m.pk for m in page])
    context.update(page=page, heading=heading, marks=visitor_history(request).marks)
    return render(request, template, context)


def visitor_history(request: HttpRequest) -> selectors.VisitorHistory:
    """The visitor's click log, read once per request: the view, its grids and
    the sidebar (movie.context_processors) share it. Pages only read; a write is
    a POST that redirects, so no page shows a history older than its request."""
    history = getattr(request, "_visitor_history", None)
    if history is None:
        history = selectors.VisitorHistory(user_key=visitor_key(request))
        request._visitor_history = history
    return history


def record_shown(
    request: HttpRequest, surface: str, model_version: str, movie_ids: list[int]
) -> None:
    """Record the list this request shows (an impression)."""
    services.record_impression(
        user_key=visitor_key(request),
        surface=surface,
        model_version=model_version,
        movie_ids=movie_ids,
        request_id=uuid.uuid4().hex,
    )


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Popular movies; a visitor with history also gets a "For you" row."""
    history = visitor_history(request)
    not_interested = history.signals.not_interested
    return _movie_list(
        request,
        "movie/home.html",
        selectors.movie_list_popular(not_interested=not_interested),
        _("Popular movies"),
        surface="popular",
        shared_as=None if not_interested else "popular",
        for_you=_for_you(request, history),
    )


def _bad_form(request: HttpRequest, message: str) -> HttpResponse:
    """A page form the visitor sent wrong: the project's 400 page saying why."""
    return render(request, "400.html", {"message": message}, status=400)


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    if not form.is_valid():
        return _bad_form(request, " ".join(form.errors.get("q", [])))
    query = form.cleaned_data["q"]
    if not query:
        return _movie_list(
            request, "movie/search.html", [], _("Search"), query="", empty_query=True
        )
    heading = _("Search: “%(query)s”") % {"query": query}
    movie_ids = selectors.movie_search(query=query)
    return _movie_list(request, "movie/search.html", movie_ids, heading, query=query)


@require_safe
def genre_detail(request: HttpRequest, slug: str) -> HttpResponse:
    genre = get_object_or_404(Genre, slug=slug)
    movies = selectors.movies_in_genre(genre=genre)
    return _movie_list(
        request,
        "movie/genre.html",
        movies,
        genre.label,
        shared_as=f"genre:{genre.pk}",
        genre=genre,
        current_genre=genre,  # the genre bar marks it as the current page
    )


@require_safe
def movie_detail(request: HttpRequest, movie_id: int) -> HttpResponse:
    movie = get_object_or_404(Movie.objects.prefetch_related("genres"), pk=movie_id)
    history = visitor_history(request)
    rating = history.signals.ratings.get(movie.pk)
    # Unrated: the form starts on its empty choice, not on a made-up rating.
    form = RatingForm(initial={"rating": str(rating) if rating else ""})
    similar = recommendations.similar_movies(
        movie_id=movie.pk, not_interested=history.signals.not_interested
    )
    record_shown(
        request, "similar", similar.model_version, [m.pk for m in similar.movies]
    )
    context = {"movie": movie, "rating": rating, "form": form}
    return render(
        request,
        "movie/detail.html",
        {**context, "similar": similar.movies, "marks": history.marks},
    )


@require_safe
def ngcf(request: HttpRequest) -> HttpResponse:
    """Ten NGCF recommendations, fine-tuned for this visitor inside the request."""
    history = visitor_history(request)
    centring = _centring(request)
    recs = recommendations.recommendations_for_history(history, k=10, centring=centring)
    record_shown(request, "ngcf", recs.model_version, [i.movie.pk for i in recs.items])
    dial = DialForm(initial={"centring": DialForm.nearest(centring)})
    return render(
        request,
        "movie/ngcf.html",
        {"recs": recs, "watched": history.entries(), "dial": dial},
    )


def _for_you(request: HttpRequest, history: selectors.VisitorHistory) -> list:
    """The home page's "For you" row, recorded as an impression of "for-you"."""
    recs = recommendations.for_you_row(history, centring=_centring(request))
    if recs is not None:
        record_shown(
            request, "for-you", recs.model_version, [i.movie.pk for i in recs.items]
        )
        # movies_by_id gave them their genres, which the cards show
        return [item.movie for item in recs.items]
    return []


@require_POST
def ngcf_dial(request: HttpRequest) -> HttpResponse:
    """Set the popular <-> niche dial; remembered in the visitor's session."""
    form = DialForm(request.POST)
    if not form.is_valid():
        return _bad_form(request, _("Choose one of the dial's positions."))
    request.session[DIAL_SESSION_KEY] = form.cleaned_data["centring"]
    return redirect("movie:ngcf")


def _centring(request: HttpRequest) -> float:
    """The visitor's dial from the session, or the default setting."""
    value = (
        request.session.get(DIAL_SESSION_KEY) if hasattr(request, "session") else None
    )
    return (
        value
        if isinstance(value, float) and 0 <= value <= 1
        else settings.NGCF_CENTRING
    )


@require_safe
def ngcf_about(request: HttpRequest) -> HttpResponse:
    return render(request, "movie/ngcf_about.html", recommendations.model_card())


@require_safe
def ngcf_curve(request: HttpRequest) -> HttpResponse:
    path = recommendations.training_curve_path()
    if path is None:
        return not_found(request)
    response = FileResponse(path.open("rb"), content_type="image/png")
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_safe
def poster(request: HttpRequest, movie_id: int) -> HttpResponse:
    """A movie's poster. poster_cache.PosterMiddleware answers the movies its
    table knows before this view; this one reads the database."""
    movie = get_object_or_404(Movie.objects.prefetch_related("genres"), pk=movie_id)
    inputs = poster_cache.poster_inputs(movie)
    language = poster_cache.poster_language(request)
    return poster_cache.poster_response(
        request, poster_cache.poster_render(inputs, language=language)
    )


@require_POST
def movie_click(request: HttpRequest, movie_id: int) -> HttpResponse:
    """A click on a movie's poster or title: record it, then go on to the movie's
    page (a POST form, so it works without JS)."""
    movie = get_object_or_404(Movie, pk=movie_id)
    services.record_click(user_key=visitor_key_for_writing(request), movie_id=movie.pk)
    return redirect("movie:detail", movie_id=movie.pk)


@require_POST
def movie_not_interested(request: HttpRequest, movie_id: int) -> HttpResponse:
    """ "Not interested": never recommend this movie again; back to where the
    visitor was (a POST form, so it works without JS)."""
    movie = get_object_or_404(Movie, pk=movie_id)
    services.record_not_interested(
        user_key=visitor_key_for_writing(request), movie_id=movie.pk
    )
    return redirect(_next_url(request, reverse("movie:ngcf")))


@require_POST
def movie_rate(request: HttpRequest, movie_id: int) -> HttpResponse:
    movie = get_object_or_404(Movie, pk=movie_id)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _bad_form(request, RATING_ERROR)
    services.record_rating(
        user_key=visitor_key_for_writing(request),
        movie_id=movie.pk,
        rating=form.cleaned_data["rating"],
    )
    return redirect("movie:detail", movie_id=movie.pk)


@require_POST
def history_delete(request: HttpRequest, event_id: uuid.UUID) -> HttpResponse:
    try:
        services.delete_event(user_key=visitor_key(request), event_id=event_id)
    except services.UnknownEvent:
        message = _("That entry is not in your history (any more).")
        return render(request, "404.html", {"message": message}, status=404)
    return redirect(_next_url(request, reverse("movie:home")))


@require_POST
def history_clear(request: HttpRequest) -> HttpResponse:
    key = visitor_key(request)
    if key is not None:
        services.clear_history(user_key=key)
    return redirect(_next_url(request, reverse("movie:home")))


def signup(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                _(
                    "Welcome, %(name)s! Your clicks and ratings are now kept in "
                    "your account."
                )
                % {"name": user.username},
            )
            return redirect("movie:home")
    elif request.method == "GET":
        form = SignupForm()
    else:
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    return render(request, "registration/signup.html", {"form": form})


def _staff_only(request: HttpRequest) -> HttpResponse | None:
    """None for staff; a login redirect for visitors, 403 for other accounts."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.is_staff:
        return permission_denied(request)
    return None


@require_safe
def dashboard_page(request: HttpRequest) -> HttpResponse:
    refused = _staff_only(request)
    if refused is not None:
        return refused
    return render(request, "movie/dashboard.html", dashboard.dashboard_context())


@require_safe
def dashboard_ctr(request: HttpRequest) -> HttpResponse:
    refused = _staff_only(request)
    if refused is not None:
        return refused
    response = HttpResponse(dashboard.ctr_plot_svg(), content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, only for the addresses in METRICS_ALLOWED_IPS."""
    if request.META.get("REMOTE_ADDR") not in settings.METRICS_ALLOWED_IPS:
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    body, content_type = telemetry.metrics_text()
    return HttpResponse(body, content_type=content_type)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        message = "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken."
        return JsonResponse({"error": message, "reason": reason}, status=403)
    message = _("The form's security check failed (CSRF).")
    return render(request, "403_csrf.html", {"message": message}, status=403)


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes's answer to a locked-out login (AXES_LOCKOUT_CALLABLE, called
    with the three arguments): the site's own page, in the visitor's language."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(request, "429.html", {"minutes": minutes}, status=429)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        if _is_api(request):
            return api.too_large()
        message = _("The request is too large.")
        return render(request, "400.html", {"message": message}, status=413)
    if _is_api(request):
        return JsonResponse({"error": "bad request"}, status=400)
    return render(request, "400.html", status=400)


def permission_denied(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"error": "forbidden"}, status=403)
    return render(request, "403.html", status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"error": "not found"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page: a standalone template, since the database may be what failed."""
    if _is_api(request):
        return JsonResponse({"error": "internal server error"}, status=500)
    return render(request, "500.html", status=500)
