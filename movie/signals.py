"""Logging in merges the anonymous visitor's history into the account; a saved
movie or genre makes this process read the posters' table and the catalogue
again, and render its fragments again; after each response the process reads
again what it keeps of the catalogue when that is getting old."""

import logging

from django.contrib.auth.signals import user_logged_in
from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from movie import after_response
from movie.identity import ANON_KEY
from movie.models import Genre, Movie
from movie.poster_cache import POSTERS
from movie.selectors import read_ahead, shared_pages_clear
from movie.services import merge_history

logger = logging.getLogger(__name__)


@receiver(user_logged_in, dispatch_uid="movie_merge_anonymous_history")
def merge_anonymous_history(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    anon_key = request.session.pop(ANON_KEY, None)
    if anon_key:
        merge_history(from_key=anon_key, to_key=f"u:{user.pk}")


@receiver(post_save, sender=Movie, dispatch_uid="movie_posters_movie_saved")
@receiver(post_delete, sender=Movie, dispatch_uid="movie_posters_movie_deleted")
@receiver(post_save, sender=Genre, dispatch_uid="movie_posters_genre_saved")
@receiver(post_delete, sender=Genre, dispatch_uid="movie_posters_genre_deleted")
@receiver(m2m_changed, sender=Movie.genres.through, dispatch_uid="movie_posters_m2m")
def catalogue_changed(sender, **kwargs) -> None:
    _forget_the_catalogue()
    # A read between this save and its commit (the read-ahead after another
    # thread's response) saw the rows before it: forget again once committed.
    transaction.on_commit(_forget_the_catalogue)


def _forget_the_catalogue() -> None:
    POSTERS.clear()
    shared_pages_clear()
    caches["template_fragments"].clear()  # the genre bar and the cards


@receiver(request_started, dispatch_uid="movie_after_response_begin")
def work_after_response_begins(sender, **kwargs) -> None:
    after_response.request_began()


@receiver(request_finished, dispatch_uid="movie_after_response")
def work_after_response(sender, **kwargs) -> None:
    """The response is sent: run what the request left for after it (its
    impressions), then read the kept catalogue and lists again if they are
    getting old (selectors.read_ahead). A failure here only leaves the next
    page to read what it needs itself, so it is logged, never raised into the
    server that closes the response."""
    after_response.run_pending()
    try:
        read_ahead()
    except Exception:
        logger.exception("reading the catalogue ahead failed")
