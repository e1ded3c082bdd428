"""One visitor of the HTTP benchmarks: its own connection (kept alive where the
server keeps it), session and CSRF cookie (http.client: a light client, since
it shares the cores with the server it measures)."""

from __future__ import annotations

import http.client
import json
import time
from http.cookies import SimpleCookie
from urllib.parse import urlsplit


class Visitor:
    def __init__(self, base: str) -> None:
        address = urlsplit(base)
        self.conn = http.client.HTTPConnection(
            address.hostname, address.port, timeout=60
        )
        self.cookies: dict[str, str] = {}
        self.request("GET", "/api/csrf")  # the CSRF cookie
        self.user_key = ""  # known after the first event
        self.event_ids: list[str] = []

    def request(
        self, method: str, path: str, body: dict | None = None
    ) -> tuple[int, bytes]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        try:
            response = self._send(method, path, data, headers)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # gunicorn closed the idle keep-alive connection (after its keepalive
            # seconds) before it read this request: send it on a new one.
            self.conn.close()
            response = self._send(method, path, data, headers)
        payload = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        return response.status, payload

    def reconnect(self) -> None:
        """The next request opens a new connection, which any worker may take
        (a kept-alive one stays with the worker that accepted it)."""
        self.conn.close()

    def click(self, movie_id: int) -> None:
        status, _payload, _ms = self.post_event({"kind": "click", "movie_id": movie_id})
        if status != 201:
            raise RuntimeError(f"POST /api/events answered {status}")

    def _send(
        self, method: str, path: str, data: str | None, headers: dict[str, str]
    ) -> http.client.HTTPResponse:
        self.conn.request(method, path, body=data, headers=headers)
        return self.conn.getresponse()

    def post_event(self, body: dict) -> tuple[int, bytes, float]:
        """POST /api/events: (status, body, milliseconds); a 201's event is kept."""
        started = time.perf_counter()
        status, payload = self.request("POST", "/api/events", body)
        ms = (time.perf_counter() - started) * 1000
        if status == 201:
            event = json.loads(payload)
            self.user_key = event["user_key"]
            self.event_ids.append(event["event_id"])
        return status, payload, ms

    def history_ids(self) -> list[str]:
        status, payload = self.request("GET", "/api/history")
        if status != 200:
            raise RuntimeError(f"GET /api/history answered {status}")
        return [e["event_id"] for e in json.loads(payload)["events"]]
