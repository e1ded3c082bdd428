from django.urls import path, register_converter

from movie import api, views
from movie.events import check_movie_id


class MovieIdConverter:
    """A movie id in a path: too large or zero is no match (404), not a 500."""

    regex = "[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        return check_movie_id(int(value))  # EventError is a ValueError: no match

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(MovieIdConverter, "movie_id")

app_name = "movie"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("genre/<slug:slug>/", views.genre_detail, name="genre"),
    path("movie/ngcf/", views.ngcf, name="ngcf"),
    path("movie/ngcf/about/", views.ngcf_about, name="ngcf-about"),
    path("movie/ngcf/dial/", views.ngcf_dial, name="ngcf-dial"),
    path("movie/ngcf/training-curve.png", views.ngcf_curve, name="ngcf-curve"),
    path("movie/<movie_id:movie_id>/", views.movie_detail, name="detail"),
    path("movie/<movie_id:movie_id>/poster.svg", views.poster, name="poster"),
    path("movie/<movie_id:movie_id>/click/", views.movie_click, name="click"),
    path("movie/<movie_id:movie_id>/rate/", views.movie_rate, name="rate"),
    path(
        "movie/<movie_id:movie_id>/not-interested/",
        views.movie_not_interested,
        name="not-interested",
    ),
    path("history/clear/", views.history_clear, name="history-clear"),
    path(
        "history/<uuid:event_id>/delete/",
        views.history_delete,
        name="history-delete",
    ),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("dashboard/ctr.svg", views.dashboard_ctr, name="dashboard-ctr"),
    path("metrics", views.metrics, name="metrics"),
    path("api/csrf", api.CsrfView.as_view(), name="api-csrf"),
    path("api/events", api.EventsView.as_view(), name="api-events"),
    path("api/recommendations", api.RecommendationsView.as_view(), name="api-recs"),
    path("api/history", api.HistoryView.as_view(), name="api-history"),
    path("api/suggest", api.SuggestView.as_view(), name="api-suggest"),
    path("api/model", api.ModelView.as_view(), name="api-model"),
    path(
        "api/history/<uuid:event_id>",
        api.HistoryEventView.as_view(),
        name="api-history-event",
    ),
]
