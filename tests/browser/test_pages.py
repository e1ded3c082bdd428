"""Every page on a phone and on a desktop: no sideways scrolling, images with alt
text, controls with accessible names, no request leaves 127.0.0.1; screenshots of
each go to artifacts/screenshots/."""

import pytest
from playwright.sync_api import expect

from devservers.browser import DESKTOP, PHONE

PAGES = {
    "home": "/",
    "detail": "/movie/7/",
    "ngcf": "/movie/ngcf/",
    "ngcf-about": "/movie/ngcf/about/",
    "search": "/search/?q=the",
    "genre": "/genre/drama/",
    "signup": "/accounts/signup/",
    "login": "/accounts/login/",
}
# Roles whose elements a visitor operates, and so must have a name.
CONTROL_ROLES = {
    "button",
    "link",
    "textbox",
    "searchbox",
    "combobox",
    "listbox",
    "checkbox",
    "radio",
    "spinbutton",
}
FORM_CONTROLS = "input:not([type=hidden]), select, textarea, button"


def controls_without_name(page) -> tuple[list[str], int]:
    """Controls whose accessible name, as chromium computes it, is empty; and how
    many form controls the accessibility tree holds (to know the check saw them)."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    unnamed, form_controls = [], 0
    for node in nodes:
        role = node.get("role", {}).get("value")
        if node.get("ignored") or role not in CONTROL_ROLES:
            continue
        form_controls += role != "link"
        if not str(node.get("name", {}).get("value", "")).strip():
            unnamed.append(f"{role} (DOM node {node.get('backendDOMNodeId')})")
    return unnamed, form_controls


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_pages_fit_and_are_labelled(site, new_visitor, viewport):
    me = new_visitor(viewport)
    page = me.open("/")
    for movie_id in (1, 3):  # some history: delete buttons, NGCF recommendations
        page.locator(f'form[action="/movie/{movie_id}/click/"] button.poster').click()
        expect(page).to_have_url(f"{site.url}/movie/{movie_id}/")
    size = "phone" if viewport is PHONE else "desktop"

    for name, path in PAGES.items():
        page = me.open(path)
        expect(page.locator("h1")).to_be_visible()
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert widths[0] <= widths[1], f"{path} scrolls sideways on a {size}"
        no_alt = page.locator("img").evaluate_all(
            "imgs => imgs.filter(i => !(i.getAttribute('alt') || '').trim())"
            ".map(i => i.outerHTML)"
        )
        assert no_alt == [], f"{path}: images without alt text"
        unnamed, seen = controls_without_name(page)
        assert unnamed == [], f"{path}: controls without an accessible name"
        assert seen == page.locator(FORM_CONTROLS).count(), path
        if name in ("home", "detail", "ngcf", "ngcf-about"):
            me.snap(f"{name}-{size}")

    assert me.offsite == []


def test_policy_violations_and_failed_resources_are_caught(site, new_visitor):
    """What `new_visitor` fails a test on: an inline script the policy refuses and an
    image that is not found, each on a page of its own (the reports outlive the
    navigation); a missing page opened on purpose is not one."""
    me = new_visitor()
    page = me.open("/")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.ran = true"; document.body.append(s); }"""
    )
    assert page.evaluate("() => window.ran") is None
    page = me.open("/movie/7/")
    page.evaluate(
        """() => new Promise(done => { const img = new Image();
             img.onerror = done; img.src = "/no-such-image.png"; })"""
    )
    page = me.open("/no-such-page/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    page.wait_for_load_state("load")
    caught = sorted(me.page_errors)
    me.page_errors.clear()  # caught on purpose: this test's teardown passes
    assert len(caught) == 3, caught
    policy, script, image = caught
    assert policy.startswith(
        f"CSP violation: script-src-elem refused inline on {site.url}/ "
    )
    assert script.startswith("console error: Executing inline script violates")
    assert image.startswith("console error: Failed to load resource"), caught
