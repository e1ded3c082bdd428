"""The MovieLens genre names, marked for translation.

Genres are stored under their MovieLens names (slugs and posters use them);
`Genre.label` translates the name with gettext. Listed here so that makemessages
finds every one.
"""

from django.utils.translation import gettext_noop

GENRE_NAMES = (
    gettext_noop("Action"),
    gettext_noop("Adventure"),
    gettext_noop("Animation"),
    gettext_noop("Children's"),
    gettext_noop("Comedy"),
    gettext_noop("Crime"),
    gettext_noop("Documentary"),
    gettext_noop("Drama"),
    gettext_noop("Fantasy"),
    gettext_noop("Film-Noir"),
    gettext_noop("Horror"),
    gettext_noop("Musical"),
    gettext_noop("Mystery"),
    gettext_noop("Romance"),
    gettext_noop("Sci-Fi"),
    gettext_noop("Thriller"),
    gettext_noop("War"),
    gettext_noop("Western"),
)
