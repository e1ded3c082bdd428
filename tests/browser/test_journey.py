"""The visitor's journey in a real browser: clicks, a rating, NGCF recommendations,
deleting a click, signing up, and a second visitor who sees none of it."""

import re

from playwright.sync_api import expect

from devservers.browser import DESKTOP, PHONE
from tests.browser.conftest import TITLES

# Odd ids: in the parity world odd visitors like odd movies (tests/conftest.py).
CLICKED = [1, 3, 5, 7, 9]


def title(movie_id: int) -> str:
    name, year, _ = TITLES[movie_id]
    return f"{name} ({year})"


def movie_id_of(href: str) -> int:
    return int(re.fullmatch(r"/movie/(\d+)/(?:click/)?", href).group(1))


def test_visitor_journey(site, new_visitor):
    me = new_visitor(DESKTOP)
    page = me.open("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Popular movies")
    expect(page.locator(".grid .card")).to_have_count(20)

    for n, movie_id in enumerate(CLICKED):
        # Visitors click posters and titles alike; both record the click.
        name = f"Poster of {title(movie_id)}" if n % 2 else title(movie_id)
        # the For-you row may show it too, above the popular grid
        page.get_by_role("button", name=name, exact=True).first.click()
        expect(page).to_have_url(f"{site.url}/movie/{movie_id}/")
        expect(page.get_by_role("heading", level=1)).to_have_text(title(movie_id))
        if movie_id != CLICKED[-1]:
            page.get_by_role("link", name="PseudoRec").click()

    # On the last clicked movie's page: rate it.
    page.get_by_label("Rate this movie").select_option("4.5")
    page.get_by_role("button", name="Rate").click()
    expect(page.locator(".your-rating")).to_have_text("Your rating: 4.5 ★")

    page.get_by_role("link", name="For you").click()
    expect(page).to_have_url(f"{site.url}/movie/ngcf/")
    recs = page.locator("ol.recs > li")
    expect(recs).to_have_count(10)
    shown = [
        movie_id_of(rec.locator("form").first.get_attribute("action"))
        for rec in recs.all()
    ]
    assert len(set(shown)) == 10
    assert not set(shown) & set(CLICKED)
    assert all(m % 2 for m in shown[:5]), shown  # the five unclicked odd movies
    for rec in recs.all():
        because = rec.locator(".because")
        expect(because).to_contain_text("Because you clicked")
        reasons = [
            movie_id_of(a)
            for a in because.locator("a").evaluate_all(
                "links => links.map(a => a.getAttribute('href'))"
            )
        ]
        assert reasons and set(reasons) <= set(CLICKED)
    sidebar = page.locator("aside .history > li")
    expect(sidebar).to_have_count(len(CLICKED) + 1)  # five clicks and the rating
    expect(page.locator("aside .history")).to_contain_text("rated 4.5")

    gone = title(3)
    page.get_by_role("button", name=f"Delete “clicked” of {gone}").click()
    expect(page).to_have_url(f"{site.url}/movie/ngcf/")
    expect(sidebar).to_have_count(len(CLICKED))
    expect(page.locator("aside")).not_to_contain_text(gone)
    expect(recs).to_have_count(10)

    page.get_by_role("link", name="About NGCF").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("About NGCF")
    expect(page.locator("table.metrics")).to_contain_text("recall@20")

    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-long-Pass-phrase-42")
    page.get_by_label("Password confirmation").fill("a-long-Pass-phrase-42")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Hi, ada")).to_be_visible()
    page.get_by_role("link", name="For you").click()
    expect(sidebar).to_have_count(len(CLICKED))
    kept = {title(m) for m in CLICKED if m != 3}
    for name in kept:
        expect(page.locator("aside")).to_contain_text(name)
    expect(page.locator(".because").first).to_be_visible()

    other = new_visitor(PHONE)
    page = other.open("/movie/ngcf/")
    expect(page.locator(".notice")).to_contain_text("no history yet")
    expect(page.locator("aside")).to_contain_text("Nothing yet")
    expect(page.locator(".because")).to_have_count(0)
    expect(page.get_by_text("Hi, ada")).to_have_count(0)
    page = other.open("/")
    expect(page.locator("aside")).to_contain_text("Nothing yet")

    assert me.offsite == other.offsite == []


def test_not_interested_movie_never_comes_back(site, new_visitor):
    """Mark the first recommendation "Not interested" (a plain form, JS or not):
    it leaves the list, the For-you row and the popular grid, and the sidebar
    lists it."""
    me = new_visitor(DESKTOP)
    page = me.open("/")
    for movie_id in CLICKED[:3]:
        page.get_by_role("button", name=title(movie_id), exact=True).first.click()
        page.get_by_role("link", name="PseudoRec").click()
    page.get_by_role("link", name="For you").click()
    first = page.locator("ol.recs > li").first
    hidden = movie_id_of(first.locator("form").first.get_attribute("action"))
    first.get_by_role("button", name=f"Not interested in {title(hidden)}").click()
    expect(page).to_have_url(f"{site.url}/movie/ngcf/")
    expect(page.locator("ol.recs > li")).to_have_count(10)
    shown = [
        movie_id_of(rec.locator("form").first.get_attribute("action"))
        for rec in page.locator("ol.recs > li").all()
    ]
    assert hidden not in shown
    expect(page.locator(".sidebar")).to_contain_text("not interested")
    page.get_by_role("link", name="PseudoRec").click()
    expect(page.get_by_role("heading", name="For you")).to_be_visible()
    expect(page.get_by_role("button", name=title(hidden), exact=True)).to_have_count(0)
