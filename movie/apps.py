from django.apps import AppConfig


class MovieConfig(AppConfig):
    name = "movie"
    verbose_name = "Movies"

    def ready(self) -> None:
        from movie import signals  # noqa: F401  (connects the login merge)
        from movie.checks import register_checks

        register_checks()
