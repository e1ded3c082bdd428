"""Generated SVG posters: the data set has no images.

A poster is a pure function of the movie's id, title, year and genres, so it is
the same on every request and can be cached by browsers.
"""

from __future__ import annotations

import hashlib
import textwrap
from xml.sax.saxutils import escape

GENRE_COLOURS = {
    "Action": "#c0392b",
    "Adventure": "#d35400",
    "Animation": "#f39c12",
    "Children's": "#f1c40f",
    "Comedy": "#e67e22",
    "Crime": "#34495e",
    "Documentary": "#7f8c8d",
    "Drama": "#8e44ad",
    "Fantasy": "#9b59b6",
    "Film-Noir": "#2c3e50",
    "Horror": "#6d0e0e",
    "Musical": "#e84393",
    "Mystery": "#273c75",
    "Romance": "#e74c3c",
    "Sci-Fi": "#0984e3",
    "Thriller": "#2d3436",
    "War": "#556b2f",
    "Western": "#a0522d",
}
FALLBACK_COLOURS = ("#16a085", "#2980b9", "#8e44ad", "#c0392b", "#d35400")
WIDTH, HEIGHT = 200, 300


def poster_svg(
    *,
    movie_id: int,
    title: str,
    year: int | None,
    genres: list[str],
    genre_labels: list[str],
    label: str,
) -> str:
    """Return the SVG document of a movie's poster: colours from the MovieLens
    genre names (`genres`), the text from `genre_labels` (the names in the
    poster's language) and `label` its accessible name ("Poster of …", in the
    poster's language too)."""
    digest = hashlib.sha256(f"{movie_id}:{title}".encode()).digest()
    colours = [GENRE_COLOURS[g] for g in genres if g in GENRE_COLOURS]
    if not colours:
        colours = [FALLBACK_COLOURS[digest[0] % len(FALLBACK_COLOURS)]]
    top, bottom = colours[0], colours[-1] if len(colours) > 1 else "#111111"
    angle = digest[1] % 360
    circles = "".join(
        f'<circle cx="{digest[2 + 3 * k] % WIDTH}" cy="{digest[3 + 3 * k] % 180}" '
        f'r="{20 + digest[4 + 3 * k] % 60}" fill="#fff" fill-opacity="0.08"/>'
        for k in range(4)
    )
    lines = textwrap.wrap(title, width=16)[:5] or [""]
    start = 200 - 13 * (len(lines) - 1)
    text = "".join(
        f'<text x="100" y="{start + 26 * n}" text-anchor="middle" '
        f'font-size="19" font-weight="700" fill="#fff">{escape(line)}</text>'
        for n, line in enumerate(lines)
    )
    year_text = (
        f'<text x="100" y="280" text-anchor="middle" font-size="15" '
        f'fill="#fff" fill-opacity="0.85">{year}</text>'
        if year
        else ""
    )
    genre_text = escape(" · ".join(genre_labels[:3]))
    label = escape(label, {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{label}" '
        f'font-family="Helvetica, Arial, sans-serif">'
        f"<title>{label}</title>"
        f'<defs><linearGradient id="g" gradientTransform="rotate({angle} .5 .5)">'
        f'<stop offset="0" stop-color="{top}"/><stop offset="1" stop-color="{bottom}"/>'
        f"</linearGradient></defs>"
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#g)"/>{circles}'
        f'<rect y="{HEIGHT - 40}" width="{WIDTH}" height="40" fill="#000" '
        f'fill-opacity="0.35"/>'
        f'<text x="100" y="30" text-anchor="middle" font-size="11" fill="#fff" '
        f'fill-opacity="0.85" letter-spacing="1">{genre_text}</text>'
        f"{text}{year_text}</svg>"
    )
