"""Production settings, login throttling, the admin, CSP and the error pages."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from movie import selectors

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MANAGE, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=settings.BASE_DIR,
    )


PRODUCTION = {
    "DJANGO_PROFILE": "production",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "pseudorec.example",
}


def test_check_deploy_with_the_production_profile_reports_nothing():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_without_it_warns():
    env = {**PRODUCTION, "DJANGO_PROFILE": "development"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stderr + result.stdout


def test_production_profile_refuses_the_development_secret_key():
    env = {**PRODUCTION, "DJANGO_SECRET_KEY": settings.DEV_SECRET_KEY}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY of its own" in result.stderr


def test_production_profile_turns_on_https_only_cookies_and_hsts():
    code = (
        "from django.conf import settings as s; print(s.DEBUG, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS > 0)"
    )
    result = manage("shell", "-c", code, **{**PRODUCTION, "DJANGO_DEBUG": "1"})
    last_line = result.stdout.strip().splitlines()[-1]
    assert last_line.split() == ["False", "True", "True", "True", "True"]


def test_admin_url_comes_from_a_setting():
    code = "from django.urls import reverse; print(reverse('admin:index'))"
    assert manage("shell", "-c", code).stdout.split()[-1] == "/admin/"
    moved = manage("shell", "-c", code, ADMIN_URL="backstage-7f3/")
    assert moved.stdout.split()[-1] == "/backstage-7f3/"


@pytest.fixture
def ada(db):
    return User.objects.create_user("ada", password="a-long-pass-123")


def login(client, url, password):
    return client.post(url, {"username": "ada", "password": password})


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_logins_are_throttled_after_repeated_failures(ada, url):
    ada.is_staff = True
    ada.save()
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, url, "wrong").status_code == 200  # the form again
    assert login(client, url, "wrong").status_code == 429
    locked = login(client, url, "a-long-pass-123")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another username from the same address is not locked out.
    User.objects.create_user("bob", password="b-long-pass-456")
    other = client.post(url, {"username": "bob", "password": "b-long-pass-456"})
    assert other.status_code in (200, 302)


def test_admin_is_for_staff_only(ada):
    client = Client()
    response = login(client, "/admin/login/?next=/admin/", "a-long-pass-123")
    assert response.status_code == 200  # not staff: the form again
    assert client.get("/admin/").status_code == 302
    ada.is_staff = True
    ada.save()
    assert (
        login(client, "/admin/login/?next=/admin/", "a-long-pass-123")["Location"]
        == "/admin/"
    )
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    "url", ["/", "/movie/50/", "/api/history", "/accounts/login/", "/admin/login/"]
)
def test_every_page_has_a_content_security_policy(catalogue, url):
    policy = Client().get(url)["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_pages_have_no_inline_script_or_style(catalogue):
    html = Client().get("/").content.decode()
    assert "<script>" not in html and "<style" not in html and " style=" not in html


def test_unknown_pages_get_the_projects_404_not_the_debug_page(db):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found." in html and "URLconf" not in html


def test_a_bad_host_gets_a_plain_400(db):
    response = Client().get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Bad request" in html and "DJANGO_SECRET_KEY" not in html


def test_errors_are_the_projects_500_page_and_json_under_api(db, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(selectors, "movie_list_popular", broken)
    monkeypatch.setattr(selectors, "history_for", broken)
    client = Client(raise_request_exception=False)
    page = client.get("/")
    assert page.status_code == 500
    assert "Something went wrong" in page.content.decode()
    assert "database went away" not in page.content.decode()
    api = client.get("/api/history")
    assert api.status_code == 500
    assert api.json() == {"error": "internal server error"}
