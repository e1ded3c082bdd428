"""Logging in merges the anonymous visitor's history into the account."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from movie.identity import ANON_KEY
from movie.services import merge_history


@receiver(user_logged_in, dispatch_uid="movie_merge_anonymous_history")
def merge_anonymous_history(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    anon_key = request.session.pop(ANON_KEY, None)
    if anon_key:
        merge_history(from_key=anon_key, to_key=f"u:{user.pk}")
