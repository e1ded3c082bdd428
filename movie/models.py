"""Catalogue, historical interactions and the SQL click log."""

import functools
from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext, gettext_lazy

TITLE_ARTICLES = ("The", "A", "An", "Les", "La", "Le", "Il", "Das", "Die")


def natural_title(title: str) -> str:
    """MovieLens writes "Godfather, The"; people read "The Godfather"."""
    for article in TITLE_ARTICLES:
        suffix = f", {article}"
        if title.endswith(suffix):
            return f"{article} {title[: -len(suffix)]}"
    return title


class Genre(models.Model):
    name = models.CharField(max_length=40, unique=True)
    slug = models.SlugField(max_length=40, unique=True)
    # Number of movies in the genre; set by the catalogue import. Fewer movies
    # means a more specific genre ("Film-Noir" says more than "Drama").
    movie_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The genre's name in the visitor's language (names: movie.genre_names)."""
        return gettext(self.name)


CARD_GENRES = 2  # how many genres a movie's card names


def specific_first(genres: Iterable[Genre]) -> list[Genre]:
    """`genres`, the rarest in the catalogue first, then by name."""
    return sorted(genres, key=lambda g: (g.movie_count, g.name))


class Movie(models.Model):
    # The MovieLens item id, so ids agree with the data and the model.
    id = models.PositiveIntegerField(primary_key=True)
    title = models.CharField(max_length=200, db_index=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    genres = models.ManyToManyField(Genre, related_name="movies", blank=True)
    # Number of historical interactions; set by the catalogue import.
    popularity = models.PositiveIntegerField(default=0, db_index=True)
    # Mean of those interactions' ratings (None without any); set by the import.
    average_rating = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-popularity", "id"]

    def __str__(self) -> str:
        return self.display_title

    @property
    def natural_title(self) -> str:
        return natural_title(self.title)

    @functools.cached_property
    def genres_specific_first(self) -> list[Genre]:
        """The movie's genres, the rarest in the catalogue first, then by name
        (uses prefetched genres when there are; movie.selectors sets it from the
        genres it keeps, which costs no query)."""
        return specific_first(self.genres.all())

    @property
    def display_title(self) -> str:
        return (
            f"{self.natural_title} ({self.year})" if self.year else self.natural_title
        )

    @property
    def card_genres(self) -> list[Genre]:
        """The genres a card names: the movie's most specific ones."""
        return self.genres_specific_first[:CARD_GENRES]

    @functools.cached_property
    def card_shown(self) -> str:
        """All a card shows of the movie but the language (its id, title, year
        and the genres it names), for keying the card kept as a fragment; made
        once per instance, as pages keep their movies."""
        genres = ",".join(g.name for g in self.card_genres)
        return f"{self.pk}:{self.title}:{self.year}:{genres}"


class Interaction(models.Model):
    """A historical MovieLens rating: the training data and the popularity source."""

    ml_user_id = models.PositiveIntegerField()
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="+")
    rating = models.FloatField()
    timestamp = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ml_user_id", "movie"], name="unique_interaction"
            )
        ]

    def __str__(self) -> str:
        return f"user {self.ml_user_id} rated {self.movie_id}: {self.rating}"


class VisitorEntry(models.Model):
    """What the SQL ClickLog store keeps of a visitor: an id and a time."""

    event_id = models.UUIDField(primary_key=True)
    user_key = models.CharField(max_length=80)
    ts = models.BigIntegerField(help_text="Epoch milliseconds")

    class Meta:
        abstract = True
        ordering = ["-ts"]


class ClickEvent(VisitorEntry):
    """One event of the click log (SQL adapter of the ClickLog store)."""

    class Kind(models.TextChoices):
        CLICK = "click"
        RATING = "rating"
        NOT_INTERESTED = "not_interested"

    movie_id = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    rating = models.FloatField(null=True, blank=True)

    class Meta(VisitorEntry.Meta):
        indexes = [models.Index(fields=["user_key", "-ts"], name="clicklog_user_ts")]

    def __str__(self) -> str:
        return f"{self.user_key} {self.kind} {self.movie_id} @ {self.ts}"


class OutboxEvent(models.Model):
    """An event not yet delivered to the event bus (the transactional outbox).

    Publishing writes the row; it is deleted once the bus accepted the event: by
    the relay (`relay_outbox`) for Kafka, by the request itself after its commit
    for the direct bus (and by the relay for what that request could not send).
    """

    event_id = models.UUIDField()
    user_key = models.CharField(max_length=80)
    payload = models.JSONField(help_text="Event.to_dict()")
    created = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user_key", "id"], name="outbox_user_id")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"outbox {self.event_id} ({self.user_key}, {self.attempts} attempts)"


class ImpressionEvent(VisitorEntry):
    """One list of movies shown to a visitor (SQL adapter of the ClickLog store).

    A table of its own, so impressions never appear in a visitor's history.
    """

    surface = models.CharField(max_length=16)
    model_version = models.CharField(max_length=64)
    movie_ids = models.JSONField(help_text="Movie ids in the order shown")
    request_id = models.CharField(max_length=64, blank=True)

    class Meta(VisitorEntry.Meta):
        indexes = [models.Index(fields=["user_key", "-ts"], name="impression_user_ts")]

    def __str__(self) -> str:
        return f"{self.user_key} saw {self.surface} ({self.model_version}) @ {self.ts}"


class ModelVersion(models.Model):
    """One trained NGCF checkpoint in the artifact store (immutable once written)."""

    class Status(models.TextChoices):
        CANDIDATE = "candidate", gettext_lazy("candidate")
        CHAMPION = "champion", gettext_lazy("champion")
        RETIRED = "retired", gettext_lazy("retired")

    version = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.CANDIDATE
    )
    artifact_uri = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(help_text="Bytes of the artifact")
    data_snapshot = models.JSONField(default=dict, help_text="What it was trained on")
    metrics = models.JSONField(default=dict, help_text="Offline metrics")
    training_config = models.JSONField(default=dict)
    gate = models.JSONField(default=dict, help_text="The last promotion gate's answer")

    class Meta:
        # One champion at a time: promotions lock the table's rows
        # (movie.recommendations.versions), which every database supports, where a
        # partial unique index would not exist on MySQL.
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.version} ({self.status})"


class ChampionChange(models.Model):
    """When a version became the champion, and why (the promotion history)."""

    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="champion_changes"
    )

    class Reason(models.TextChoices):
        PROMOTE = "promote", gettext_lazy("passed the gate")
        FORCE = "force", gettext_lazy("forced past the gate")
        ROLLBACK = "rollback", gettext_lazy("rolled back")
        FIRST = "first", gettext_lazy("first version")

    at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.version.version} champion from {self.at} ({self.reason})"
