"""Each movie's mean MovieLens rating and each genre's number of movies, stored
like popularity; MovieLens's "unknown" genre (a movie without genres) goes."""

from django.db import migrations, models

from movie.movielens import UNKNOWN_GENRE, refresh_catalogue_counts


def refresh(apps, schema_editor):
    Genre = apps.get_model("movie", "Genre")
    Genre.objects.filter(name=UNKNOWN_GENRE).delete()
    refresh_catalogue_counts(
        movie_model=apps.get_model("movie", "Movie"),
        genre_model=Genre,
        interaction_model=apps.get_model("movie", "Interaction"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("movie", "0004_not_interested_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="genre",
            name="movie_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="movie",
            name="average_rating",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(refresh, migrations.RunPython.noop),
    ]
