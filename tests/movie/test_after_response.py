"""Work a request leaves for after its response (movie.after_response)."""

import contextlib

from django.core.handlers.base import BaseHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from movie import after_response, services


@contextlib.contextmanager
def _signals_as_the_test_client_sends_them():
    """Without Django's connection closing, which would end the test's
    transaction (the test client disconnects it the same way)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_work_waits_for_the_response_and_runs_at_once_outside_a_request(db, caplog):
    done = []
    after_response.after_response(lambda: done.append("outside"))
    assert done == ["outside"]
    with _signals_as_the_test_client_sends_them():
        request_started.send(sender=None, environ={})
        after_response.after_response(lambda: done.append("first"))
        after_response.after_response(lambda: 1 / 0)
        after_response.after_response(lambda: done.append("after a failure"))
        assert done == ["outside"]
        request_finished.send(sender=None)
        assert done == ["outside", "first", "after a failure"]
        assert "work after the response failed" in caplog.text
        request_finished.send(sender=None)  # nothing left to run twice
    after_response.after_response(lambda: done.append("outside again"))
    assert done[-1] == "outside again"


def test_work_of_a_response_never_closed_runs_before_the_next_request(db):
    done = []
    with _signals_as_the_test_client_sends_them():
        request_started.send(sender=None, environ={})
        after_response.after_response(lambda: done.append("left"))
        request_started.send(sender=None, environ={})  # no request_finished
        assert done == ["left"]
        after_response.after_response(lambda: done.append("second"))
        request_finished.send(sender=None)
    assert done == ["left", "second"]


def test_a_pages_impressions_are_written_after_its_response(
    visitor, catalogue, monkeypatch
):
    """The popular grid's impression (and the For-you row's, when shown) is
    stored once the response is handed to the server, not before."""
    order = []
    handle, publish = BaseHandler.get_response, services._publish_impression

    def handled(handler, request):
        response = handle(handler, request)
        order.append("response")
        return response

    def published(impression):
        order.append(impression.surface)
        publish(impression)

    monkeypatch.setattr(BaseHandler, "get_response", handled)
    monkeypatch.setattr(services, "_publish_impression", published)
    assert visitor.get("/").status_code == 200
    assert order == ["response", "popular"]
    from movie.models import ImpressionEvent

    assert ImpressionEvent.objects.filter(surface="popular").count() == 1


def test_an_impression_that_cannot_be_written_is_logged(
    visitor, catalogue, monkeypatch, caplog
):
    class Gone:
        def publish(self, message):
            raise ConnectionError("the broker went away")

    monkeypatch.setattr(services, "get_event_bus", lambda: Gone())
    response = visitor.get("/")
    assert response.status_code == 200 and "Star Wars" in response.content.decode()
    assert "not recorded" in caplog.text
