from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from movie import views as movie_views

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", movie_views.signup, name="signup"),
    # Django's set_language view: the language switcher posts here.
    path("i18n/", include("django.conf.urls.i18n")),
    # Pages link the SVG icon; this answers browsers that ask for /favicon.ico.
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("movie/favicon.svg"), permanent=True),
    ),
    path("", include("movie.urls")),
]

handler400 = "movie.views.bad_request"
handler403 = "movie.views.permission_denied"
handler404 = "movie.views.not_found"
handler500 = "movie.views.server_error"
