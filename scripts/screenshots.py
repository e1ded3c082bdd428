"""Screenshots of the real site for the README, written to docs/screenshots/.

Serves the site with the MovieLens-100k catalogue and an NGCF checkpoint on
127.0.0.1 (`manage.py runserver --noreload` on a throwaway SQLite database under
artifacts/, so the dev database is left alone), walks one visitor through it in
Debian's chromium with Playwright and saves small palette PNGs: the movie page
after the visitor's clicks and rating, the NGCF page after marking one
recommendation "Not interested", the home page with the visitor's marks, the
NGCF page on a phone and the movie page in Korean.

    make screenshots
    .venv/bin/python -m scripts.screenshots [--checkpoint PATH] [--out DIR] [--port N]

Needs `make data` (data/ml-100k) and a checkpoint (`make model`, or `--checkpoint`).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect, sync_playwright

from devservers.browser import DESKTOP, PHONE, chromium_launch

ROOT = Path(__file__).resolve().parents[1]
# A visitor who likes science fiction and adventure: (movie id, search words).
CLICKS = [
    (50, "Star Wars"),
    (172, "Empire Strikes Back"),
    (174, "Raiders of the Lost Ark"),
    (195, "Terminator, The"),
    (183, "Alien"),
]
RATED = (183, "5.0")
# The recommendation (its rank) the visitor marks "Not interested".
NOT_INTERESTED_RANK = 2
MAX_BYTES = 200_000
HOME_VIEWPORT = {**DESKTOP, "height": 980}

logger = logging.getLogger("screenshots")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the dev server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the dev server did not answer on {url}")


def save_small_png(png: bytes, path: Path, width: int | None = None) -> int:
    """Write `png` as a 256-colour palette PNG (scaled to `width`); its size."""
    from io import BytesIO

    image = Image.open(BytesIO(png)).convert("RGB")
    if width and image.width > width:
        height = round(image.height * width / image.width)
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    palette = image.quantize(colors=256)  # dithered against it, posters keep gradients
    image = image.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)
    image.save(path, optimize=True)
    return path.stat().st_size


def _shot(page) -> bytes:
    """The viewport, once every poster in it has loaded."""
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete || i.loading === 'lazy'"
        " && i.getBoundingClientRect().top > innerHeight)"
    )
    return page.screenshot()


def _history(page, base_url: str) -> None:
    """The visitor's clicks (through the search box) and rating."""
    page.goto(base_url + "/")
    for movie_id, words in CLICKS:
        page.get_by_label("Search titles").fill(words)
        page.get_by_role("button", name="Search", exact=True).click()
        card = page.locator(f'form[action="/movie/{movie_id}/click/"]')
        card.locator("button.poster").click()
        expect(page).to_have_url(f"{base_url}/movie/{movie_id}/")
    page.get_by_label("Rate this movie").select_option(RATED[1])
    page.locator("form.rate button").click()
    expect(page.locator(".your-rating")).to_be_visible()


def _not_interested(page) -> None:
    """Mark the recommendation at NOT_INTERESTED_RANK "Not interested"."""
    rec = page.locator("ol.recs > li").nth(NOT_INTERESTED_RANK - 1)
    title = rec.locator("button.title").inner_text()
    rec.get_by_role("button", name=re.compile("^Not interested in")).click()
    expect(page.locator("ol.recs button.title", has_text=title)).to_have_count(0)
    logger.info("marked not interested: %s", title)


def take(base_url: str, out: Path) -> list[Path]:
    """Walk the visitor's journey and save the screenshots; the files written."""
    shots: list[tuple[str, bytes, int | None]] = []
    with sync_playwright() as playwright:
        browser = chromium_launch(playwright)
        context = browser.new_context(viewport=DESKTOP)
        context.route(
            lambda url: not url.startswith(base_url), lambda route: route.abort()
        )
        page = context.new_page()
        _history(page, base_url)
        shots.append(("detail", _shot(page), 1024))
        page.get_by_role("link", name="For you").click()
        _not_interested(page)
        expect(page.locator("ol.recs > li")).to_have_count(10)
        shots.append(("ngcf", _shot(page), 1024))
        # Tall enough for the "For you" row and the first row of popular movies
        # with the visitor's marks under it.
        page.set_viewport_size(HOME_VIEWPORT)
        page.get_by_role("link", name="PseudoRec").click()
        expect(page.locator(".grid .card.marked .mark").first).to_be_in_viewport()
        shots.append(("home", _shot(page), 1024))
        page.set_viewport_size(DESKTOP)
        phone = context.new_page()
        phone.set_viewport_size(PHONE)
        phone.goto(base_url + "/movie/ngcf/")
        expect(phone.locator("ol.recs > li")).to_have_count(10)
        shots.append(("ngcf-phone", _shot(phone), None))
        # The same visitor switches to Korean with the footer's language form.
        page.goto(f"{base_url}/movie/{RATED[0]}/")
        page.locator("form.language select").select_option("ko")
        page.locator("form.language button").click()
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        shots.append(("detail-ko", _shot(page), 1024))
        browser.close()

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, png, width in shots:
        path = out / f"{name}.png"
        size = save_small_png(png, path, width)
        logger.info("%s: %d bytes", path, size)
        if size > MAX_BYTES:
            raise SystemExit(f"{path} is {size} bytes, over {MAX_BYTES}")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint", default="data/checkpoints/ngcf-ml100k.pt", type=Path
    )
    parser.add_argument("--out", default=ROOT / "docs" / "screenshots", type=Path)
    parser.add_argument("--site-dir", default=ROOT / "artifacts" / "site", type=Path)
    parser.add_argument(
        "--port", type=int, default=0, help="the dev server's (default: a free one)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    checkpoint = args.checkpoint.resolve()
    if not checkpoint.is_file():
        raise SystemExit(f"no checkpoint at {checkpoint}: run `make model` first")
    if not (ROOT / "data" / "ml-100k").is_dir():
        raise SystemExit("no data/ml-100k: run `make data` first")
    args.site_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{(args.site_dir / 'db.sqlite3').resolve()}",
        "NGCF_CHECKPOINT": str(checkpoint),
        "DJANGO_DEBUG": "1",  # runserver serves static/ itself
        "OPENBLAS_NUM_THREADS": "1",
    }
    _manage(env, "migrate", "--no-input", "-v", "0")
    _manage(env, "import_movielens")

    port = args.port or _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_up(base_url + "/", server)
        take(base_url, args.out)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
