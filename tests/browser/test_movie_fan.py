"""What a movie fan sees, at phone and desktop size: a movie page with its
average rating, genres and the visitor's own rating; a search that forgives and
suggests; grids and history that say what the visitor did; no raw scores; no
"unknown" genre; a welcome, a favicon, a 404 for a page that is not there; the
site in English and Korean."""

import re

import pytest
from django.db.models import Count
from playwright.sync_api import expect

from devservers.browser import DESKTOP, PHONE
from movie.models import Genre, Movie

SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])


@pytest.fixture
def fan_site(site):
    """The browser site with genre sizes and one average rating, as the import
    stores them."""
    for genre in Genre.objects.annotate(n=Count("movies")):
        Genre.objects.filter(pk=genre.pk).update(movie_count=genre.n)
    Movie.objects.filter(pk=7).update(average_rating=3.84)
    return site


def _card(page, movie_id: int):
    return page.locator(".grid .card:not(.for-you .card)").filter(
        has=page.locator(f'form[action="/movie/{movie_id}/click/"]')
    )


@SIZES
def test_movie_page_says_what_a_fan_wants_to_know(fan_site, new_visitor, size):
    me = new_visitor(size)
    page = me.open("/movie/7/")  # Twelve Monkeys: Drama, Sci-Fi
    expect(page.locator(".facts .year")).to_have_text("1995")
    expect(page.locator(".facts .average")).to_have_text("★ 3.8 average of 93 ratings")
    # All its genres, the rarer first (one Sci-Fi movie, many dramas).
    expect(page.locator(".facts .genre-tags a")).to_have_text(["Sci-Fi", "Drama"])
    rating = page.get_by_label("Rate this movie")
    expect(rating).to_have_value("")  # unrated: nothing preset
    expect(page.locator(".your-rating")).to_have_count(0)
    rating.select_option("4.0")
    page.get_by_role("button", name="Rate", exact=True).click()
    expect(page.locator(".your-rating")).to_have_text("Your rating: 4.0 ★")
    expect(rating).to_have_value("4.0")
    me.snap(f"fan-movie-{size['width']}")


@SIZES
def test_search_forgives_ranks_and_suggests(fan_site, new_visitor, size):
    me = new_visitor(size)
    page = me.open("/")
    box = page.get_by_label("Search titles")
    box.press_sequentially("twelve monkys", delay=20)
    options = page.locator("#title-suggestions option")
    expect(options.first).to_have_attribute("value", "Twelve Monkeys (1995)")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=twelve\+monkys$"))
    expect(page.locator(".grid .card .title").first).to_have_text(
        "Twelve Monkeys (1995)"
    )
    page.get_by_label("Search titles").fill("   ")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("main .notice")).to_have_text(
        "Type a movie title (or part of one) to search."
    )


@SIZES
def test_search_without_javascript_is_a_plain_form(fan_site, new_visitor, size):
    me = new_visitor(size, java_script_enabled=False)
    page = me.open("/")
    page.get_by_label("Search titles").fill("goldeneye")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".grid .card .title")).to_have_text(["GoldenEye (1995)"])
    page.get_by_label("Search titles").fill("usualsuspects")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".grid .card .title").first).to_have_text(
        "The Usual Suspects (1995)"
    )


@SIZES
def test_grids_and_history_say_what_the_visitor_did(fan_site, new_visitor, size):
    me = new_visitor(size)
    page = me.open("/")
    page.get_by_role("button", name="Toy Story (1995)", exact=True).click()
    page.get_by_role("link", name="PseudoRec").click()
    page.get_by_role("button", name="Four Rooms (1995)", exact=True).last.click()
    page.get_by_label("Rate this movie").select_option("4.5")
    page.get_by_role("button", name="Rate", exact=True).click()
    page.get_by_role("link", name="PseudoRec").click()

    expect(_card(page, 1).locator(".mark")).to_have_text("Clicked")
    expect(_card(page, 3).locator(".mark")).to_have_text("Your rating: 4.5 ★")
    expect(_card(page, 3)).to_have_class(re.compile(r"\bmark-rated\b"))
    expect(_card(page, 2).locator(".mark")).to_have_count(0)
    expect(page.locator(".grid .card.marked")).to_have_count(2)
    # Newest first: the rating, the click that opened Four Rooms (its rating
    # replaces it as the movie's signal), then Toy Story.
    expect(page.locator("aside .history .kind")).to_have_text(
        ["rated 4.5 · liked", "clicked · superseded", "clicked"]
    )
    # No "unknown" genre in the bar; cards name their genres.
    expect(page.locator("nav.genres a", has_text="unknown")).to_have_count(0)
    expect(_card(page, 1).locator(".card-genres")).to_have_text("Animation · Comedy")
    me.snap(f"fan-home-{size['width']}")

    page.get_by_role("link", name="For you").click()
    expect(page.locator("ol.recs > li")).to_have_count(10)
    expect(page.locator("main")).not_to_contain_text("score")
    expect(page.locator("#history-heading")).to_have_text(
        "What your recommendations use"
    )
    expect(page.locator("aside .history .kind").first).to_have_text("rated 4.5 · liked")


@SIZES
def test_welcome_favicon_and_missing_pages(fan_site, new_visitor, size):
    me = new_visitor(size)
    missing = []
    me.page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page = me.open("/accounts/signup/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-long-pass-123")
    page.get_by_label("Password confirmation").fill("a-long-pass-123")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".messages")).to_contain_text("Welcome, ada!")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(fan_site.url + icon).status == 200
    assert page.request.get(fan_site.url + "/favicon.ico").status == 200
    assert missing == []
    response = page.goto(fan_site.url + "/?page=9999")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")


@SIZES
def test_korean_from_the_browser_and_the_switcher_remembers(
    fan_site, new_visitor, size
):
    me = new_visitor(size, locale="ko-KR")
    page = me.open("/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", level=1)).to_have_text("인기 영화")
    expect(page.get_by_role("button", name="Toy Story (1995) 포스터")).to_be_visible()
    page.get_by_role("button", name="Toy Story (1995)", exact=True).click()
    expect(page.locator(".facts dt").first).to_have_text("개봉 연도")
    expect(page.locator("aside .history .kind")).to_have_text(["클릭함"])
    me.snap(f"fan-korean-{size['width']}")

    page.get_by_label("언어").select_option("en")
    page.get_by_role("button", name="바꾸기").click()
    expect(page).to_have_url(f"{fan_site.url}/movie/1/")
    expect(page.locator(".facts dt").first).to_have_text("Year")
    # Remembered: a new page in the same browser stays English.
    page = me.open("/movie/ngcf/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recommended for you")
