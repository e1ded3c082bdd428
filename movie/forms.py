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


class SearchForm(forms.Form):
    # CharField refuses NUL characters (ProhibitNullCharactersValidator).
    q = forms.CharField(max_length=SEARCH_MAX_LENGTH, required=False, strip=True)


class SignupForm(UserCreationForm):
    pass
