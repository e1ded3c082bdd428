from django import forms
from django.contrib.auth.forms import UserCreationForm

RATING_CHOICES = [(str(n / 2), f"{n / 2:.1f} ★") for n in range(10, 0, -1)]


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=RATING_CHOICES, coerce=float, label="Rate this movie"
    )


class SignupForm(UserCreationForm):
    pass
