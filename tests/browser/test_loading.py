"""The "Computing your recommendations…" status, and the site without JavaScript."""

from playwright.sync_api import expect

from devservers.browser import DESKTOP, PHONE


def test_status_shows_while_recommendations_load(site, new_visitor):
    me = new_visitor(DESKTOP)
    page = me.open("/")
    page.locator('form[action="/movie/1/click/"] button.poster').click()
    status = page.locator("#loading")
    expect(status).to_be_hidden()

    # While a navigation is pending Playwright's locators wait for the next page,
    # so the page itself reports what #loading shows.
    seen = []
    page.expose_function("reportLoading", lambda *state: seen.append(state))
    page.evaluate(
        """() => {
          const s = document.getElementById("loading");
          new MutationObserver(() => window.reportLoading(
            s.getBoundingClientRect().height > 0, s.textContent,
            s.getAttribute("role"))).observe(s, {attributes: true, subtree: true,
            childList: true, characterData: true});
        }"""
    )
    held = []  # the NGCF request, answered only once the status has been seen
    page.route(f"{site.url}/movie/ngcf/", lambda route: held.append(route))
    page.get_by_role("link", name="For you").click(no_wait_after=True)
    for _ in range(500):
        if held and seen:
            break
        page.wait_for_timeout(10)
    assert seen[-1] == (True, "Computing your recommendations…", "status")
    assert held, "the NGCF page was not requested"
    held[0].continue_()
    expect(page).to_have_url(f"{site.url}/movie/ngcf/")
    expect(page.locator("ol.recs > li")).to_have_count(10)
    expect(status).to_be_hidden()


def test_site_works_without_javascript(site, new_visitor):
    me = new_visitor(PHONE, java_script_enabled=False)
    page = me.open("/")
    for movie_id, button in ((2, "poster"), (4, "title")):
        form = page.locator(f'form[action="/movie/{movie_id}/click/"]')
        form.locator(f"button.{button}").click()
        expect(page).to_have_url(f"{site.url}/movie/{movie_id}/")
    page.get_by_label("Rate this movie").select_option("5.0")
    page.get_by_role("button", name="Rate").click()
    expect(page.locator(".your-rating")).to_have_text("Your rating: 5.0 ★")
    page.get_by_role("link", name="For you").click()
    expect(page.locator("ol.recs > li")).to_have_count(10)
    expect(page.locator(".because")).to_have_count(10)
    expect(page.locator("#loading")).to_be_hidden()
    page.locator("aside button.delete").first.click()
    expect(page.locator("aside .history > li")).to_have_count(2)
    assert me.offsite == []
