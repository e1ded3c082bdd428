"""Everything a visitor does can be done with the keyboard alone."""

import re

from playwright.sync_api import expect

from devservers.browser import DESKTOP


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector`."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate(
            "s => { const e = document.activeElement;"
            " return [e.matches(s), e.outerHTML.slice(0, 80)]; }",
            selector,
        )
        if here[0]:
            return
        seen.append(here[1])
    raise AssertionError(f"Tab never reached {selector}; it went through {seen}")


def test_keyboard_reaches_every_control(site, new_visitor):
    me = new_visitor(DESKTOP)
    page = me.open("/")
    tab_to(page, "input#q[type=search]")
    tab_to(page, "button.poster")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/movie/\d+/$"))
    expect(page.locator("aside .history > li")).to_have_count(1)

    tab_to(page, "form.rate select[name=rating]")
    # Unrated: the form starts on "Choose…", the first rating is one key away.
    expect(page.locator("select[name=rating]")).to_have_value("")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("select[name=rating]")).to_have_value("4.5")
    tab_to(page, "form.rate button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(".your-rating")).to_have_text("Your rating: 4.5 ★")

    tab_to(page, "a.for-you")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/movie/ngcf/$"))
    watched = page.locator("aside .history > li")
    expect(watched).to_have_count(2)  # the click and the rating
    tab_to(page, "aside button.delete")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/movie/ngcf/$"))
    expect(watched).to_have_count(1)
