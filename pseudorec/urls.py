from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from movie import views as movie_views

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", movie_views.signup, name="signup"),
    path("", include("movie.urls")),
]

handler400 = "movie.views.bad_request"
handler403 = "movie.views.permission_denied"
handler404 = "movie.views.not_found"
handler500 = "movie.views.server_error"
