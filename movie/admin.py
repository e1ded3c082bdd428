from django.contrib import admin

from movie.models import ChampionChange, ClickEvent, Genre, ModelVersion, Movie


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Movie)
class MovieAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "year", "popularity"]
    search_fields = ["title"]
    list_filter = ["genres"]


@admin.register(ClickEvent)
class ClickEventAdmin(admin.ModelAdmin):
    list_display = ["ts", "user_key", "kind", "movie_id", "rating", "event_id"]
    list_filter = ["kind"]
    search_fields = ["user_key", "=movie_id", "=event_id"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "status", "created_at", "size", "sha256"]
    list_filter = ["status"]
    search_fields = ["version"]
    # Versions change only through the promotion commands (the gate).
    readonly_fields = [f.name for f in ModelVersion._meta.fields]


@admin.register(ChampionChange)
class ChampionChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "version", "reason", "note"]
    readonly_fields = ["version", "at", "reason", "note"]
