from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from movie.events import EventError, check_rating

RATING_ERROR = _("Choose a rating from 0.5 to 5.0 stars.")
RATING_CHOICES = [(str(n / 2), f"{n / 2:.1f} ★") for n in range(10, 0, -1)]
SEARCH_MAX_LENGTH = 200


def _rating(value: str) -> float:
    try:
        return check_rating(float(value))
    except (EventError, ValueError):
        raise forms.ValidationError(
            _("Choose a rating from 0.5 to 5.0 stars.")
        ) from None


class RatingForm(forms.Form):
    # The empty first choice is what an unrated movie's form shows; sending it
    # is refused (required).
    rating = forms.TypedChoiceField(
        choices=[("", _("Choose…")), *RATING_CHOICES],
        coerce=_rating,
        label=_("Rate this movie"),
    )


DIAL_CHOICES = [
    ("0.0", _("most popular")),
    ("0.5", _("popular")),
    ("0.7", _("balanced")),
    ("0.8", _("personal")),
    ("0.9", _("niche")),
    ("1.0", _("most niche")),
]


class DialForm(forms.Form):
    """The popular <-> niche dial: how much of the training users' shared,
    popular direction is taken out of the neighbour term (0 keeps it all)."""

    centring = forms.TypedChoiceField(
        choices=DIAL_CHOICES, coerce=float, label=_("Popular ↔ niche")
    )

    @staticmethod
    def nearest(value: float) -> str:
        return min((c for c, _ in DIAL_CHOICES), key=lambda c: abs(float(c) - value))


class SearchForm(forms.Form):
    # CharField refuses NUL characters (ProhibitNullCharactersValidator).
    q = forms.CharField(max_length=SEARCH_MAX_LENGTH, required=False, strip=True)


class SignupForm(UserCreationForm):
    pass
