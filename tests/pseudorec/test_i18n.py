"""English and Korean: the language from Accept-Language or the switcher's
cookie, every page string translated, the compiled catalogue up to date."""

import gettext
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES"
KOREAN = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9,en;q=0.5"}


def _catalog() -> dict:
    with (LOCALE / "django.mo").open("rb") as handle:
        return gettext.GNUTranslations(handle)._catalog


def _text(html: str) -> str:
    """What a reader sees: tags, scripts and attribute values dropped."""
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_the_browser_language_picks_the_pages_language(client, catalogue):
    korean = client.get("/", **KOREAN)
    assert korean["Content-Language"] == "ko"
    assert '<html lang="ko">' in korean.content.decode()
    assert "인기 영화" in korean.content.decode()
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "Popular movies" in english.content.decode()
    assert "Accept-Language" in korean["Vary"]
    # Titles stay as in the data.
    assert "Star Wars (1977)" in korean.content.decode()


def test_the_switcher_remembers_the_choice(client, catalogue):
    response = client.post("/i18n/setlang/", {"language": "ko", "next": "/movie/50/"})
    assert response.status_code == 302 and response["Location"] == "/movie/50/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "ko" and int(cookie["max-age"]) >= 30 * 24 * 3600
    # The cookie wins over the browser's language.
    page = client.get("/movie/50/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "장르" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Genres" in client.get("/movie/50/", **KOREAN).content.decode()


def test_an_unknown_language_or_a_foreign_next_is_refused(client, catalogue):
    response = client.post(
        "/i18n/setlang/", {"language": "xx", "next": "https://example.com/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


PAGES = [
    "/",
    "/movie/1/",
    "/search/?q=godfahter",
    "/search/?q=",
    "/genre/sci-fi/",
    "/movie/ngcf/",
    "/movie/ngcf/about/",
    "/accounts/login/",
    "/accounts/signup/",
    "/movie/99999/",
    "/?page=99",
    "/dashboard/",  # as staff
    "/movie/1/poster.svg?lang=ko",
]
# Words the code stores (model version statuses, why a version became the
# champion, where a list was shown) that pages must show translated.
CODE_WORDS = ("candidate", "champion", "retired", "promote", "force", "for-you")


def _assert_no_english_of_ours(path: str, text: str) -> None:
    assert re.search("[가-힣]", text)
    for msgid in _catalog():
        if isinstance(msgid, tuple) or "%" in msgid or "<" in msgid:
            continue
        if "\x04" in msgid:  # a message with context
            msgid = msgid.split("\x04", 1)[1]
        if len(msgid) < 4 or msgid in {"NGCF"}:
            continue
        assert msgid not in text, f"{path}: untranslated {msgid!r}"


def _version_history() -> None:
    """Two versions of the parity checkpoint: one promoted through the gate, one
    forced past it; and a "For you" list shown (for the dashboard)."""
    from movie.models import ImpressionEvent
    from movie.recommendations.versions import promote_version, register_version

    for n, metrics in enumerate([{"test": {"ndcg@20": 0.3}}, {}]):
        version = register_version(
            checkpoint=Path(settings.NGCF_CHECKPOINT),
            metrics=metrics,
            data_snapshot={},
            training_config={},
        )
        promote_version(version=version.version, force=n == 1)
    ImpressionEvent.objects.create(
        event_id=uuid.uuid4(),
        user_key="someone",
        ts=int(time.time() * 1000),
        surface="for-you",
        model_version=version.version,
        movie_ids=[1, 2],
    )


@pytest.mark.parametrize("path", PAGES)
def test_korean_pages_hold_no_english_of_ours(client, parity_site, path):
    from django.contrib.auth.models import User

    from movie.models import Genre, Movie

    Genre.objects.create(name="Sci-Fi", slug="sci-fi").movies.add(1, 3)
    Movie.objects.filter(pk=1).update(average_rating=3.5)
    _version_history()
    if path == "/dashboard/":
        client.force_login(User.objects.create_user("boss", is_staff=True))
    client.post("/movie/2/click/")
    client.post("/movie/4/rate/", {"rating": "4.5"})
    response = client.get(path, **KOREAN)
    assert response.status_code in (200, 404)
    html = response.content.decode()
    _assert_no_english_of_ours(path, _text(html))
    for word in CODE_WORDS:
        assert f"<td>{word}</td>" not in html, f"{path}: raw {word!r}"
    assert "Poster of" not in html


def test_the_korean_lockout_page(client, db, settings):
    from django.contrib.auth.models import User

    User.objects.create_user("ada", password="a-long-pass-123")
    wrong = {"username": "ada", "password": "wrong"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", wrong, **KOREAN)
    response = client.post("/accounts/login/", wrong, **KOREAN)
    assert response.status_code == 429
    text = _text(response.content.decode())
    _assert_no_english_of_ours("lockout", text)
    assert "로그인" in text and "15분" in text
    assert "Account locked" not in text


def test_every_message_is_translated():
    catalog = _catalog()
    po = (LOCALE / "django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in po
    assert all(value for key, value in catalog.items() if key)
    assert len(catalog) > 100


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext missing")
def test_the_committed_catalogue_is_compiled_from_the_po_file(tmp_path):
    out = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check-format", "-o", str(out), str(LOCALE / "django.po")],
        check=True,
    )
    assert out.read_bytes() == (LOCALE / "django.mo").read_bytes(), (
        "run `make messages` (compilemessages) and commit locale/"
    )
