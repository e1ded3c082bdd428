from django import forms
from django.contrib.auth.forms import UserCreationForm

from movie.events import EventError, check_rating

RATING_CHOICES = [(str(n / 2), f"{n / 2:.1f} ★") for n in range(10, 0, -1)]
SEARCH_MAX_LENGTH = 200


def _rating(value: str) -> float:
    try:
        return check_rating(float(value))
    except (EventError, ValueError):
        raise forms.ValidationError("Rating must be one of 0.5, 1.0, … 5.0.") from None


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=RATING_CHOICES, coerce=_rating, label="Rate this movie"
    )


DIAL_CHOICES = [
    ("0.0", "most popular"),
    ("0.5", "popular"),
    ("0.7", "balanced"),
    ("0.8", "personal"),
    ("0.9", "niche"),
    ("1.0", "most niche"),
]


class DialForm(forms.Form):
    """The popular <-> niche dial: how much of the training users' shared,
    popular direction is taken out of the neighbour term (0 keeps it all)."""

    centring = forms.TypedChoiceField(
        choices=DIAL_CHOICES, coerce=float, label="Popular ↔ niche"
    )

    @staticmethod
    def nearest(value: float) -> str:
        return min((c for c, _ in DIAL_CHOICES), key=lambda c: abs(float(c) - value))


class SearchForm(forms.Form):
    # CharField refuses NUL characters (ProhibitNullCharactersValidator).
    q = forms.CharField(max_length=SEARCH_MAX_LENGTH, required=False, strip=True)


class SignupForm(UserCreationForm):
    pass
