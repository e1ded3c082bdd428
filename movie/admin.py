from django.contrib import admin

from movie.models import ClickEvent, Genre, Movie


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
