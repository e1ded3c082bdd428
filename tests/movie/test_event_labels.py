"""What history entries and grid marks say for each kind of event."""

from django.utils import translation

from movie.event_labels import EVENT_LABELS, history_label, marks_from
from movie.events import Event


def _event(kind: str, movie_id: int, rating: float | None = None) -> Event:
    return Event(user_key="v:x", movie_id=movie_id, kind=kind, rating=rating)


def test_history_entries_say_what_they_were():
    assert history_label(_event("click", 1)) == ("clicked", "clicked")
    assert history_label(_event("rating", 1, 4.5)) == ("rated", "rated 4.5")
    with translation.override("ko"):
        assert history_label(_event("rating", 1, 4.5)) == ("rated", "평점 4.5")
        assert history_label(_event("click", 1))[1] == "클릭함"


def test_a_rating_outweighs_a_click_and_the_newest_rating_counts():
    newest_first = [
        _event("click", 50),
        _event("rating", 50, 3.0),
        _event("rating", 50, 1.0),
        _event("click", 100),
    ]
    marks = marks_from(newest_first)
    assert marks[50].css == "rated" and marks[50].text == "Your rating: 3.0 ★"
    assert marks[100].css == "clicked" and marks[100].text == "Clicked"
    assert set(marks) == {50, 100}


def test_every_recorded_kind_has_a_label():
    from movie.events import RECORDED_KINDS

    assert set(RECORDED_KINDS) <= set(EVENT_LABELS)
