"""HTTP requests against a real loopback server: 5xx and refused connections are retried, 4xx raised at once."""

import logging

import pytest
import requests

from snaketrain.http_retry import request
from tests.http_server import LoopbackServer, closed_port_url

BACKOFF = 0.01  # seconds; the waits are not what these tests are about


def test_5xx_answers_are_retried_until_success():
    with LoopbackServer(answers=[(503, ""), (500, "")], default=(200, "done")) as server:
        response = request("GET", server.url("/data"), attempts=3, backoff=BACKOFF, timeout=5)
    assert response.status_code == 200 and response.text == "done"
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/data")] * 3


def test_a_retry_is_logged_with_the_attempt_and_the_failure(caplog):
    logger = logging.getLogger("test.http_retry")
    with caplog.at_level(logging.WARNING, logger="test.http_retry"), LoopbackServer(answers=[(502, "")]) as server:
        request("POST", server.url("/hook"), 2, BACKOFF, 5, logger=logger, what="webhook", json={"a": 1})
    assert "webhook attempt 1 of 2 failed (HTTP 502); retrying in" in caplog.text
    assert server.payloads == [{"a": 1}, {"a": 1}]  # the same body every time


def test_4xx_is_raised_at_once():
    with LoopbackServer(default=(404, "")) as server, pytest.raises(requests.HTTPError) as error:
        request("GET", server.url("/missing"), attempts=4, backoff=BACKOFF, timeout=5)
    assert error.value.response.status_code == 404
    assert len(server.requests) == 1


def test_when_retries_run_out_the_last_error_is_raised_as_requests_raised_it():
    with LoopbackServer(default=(503, "")) as server, pytest.raises(requests.HTTPError) as error:
        request("GET", server.url("/flaky"), attempts=3, backoff=BACKOFF, timeout=5)
    assert error.value.response.status_code == 503
    assert len(server.requests) == 3
    with pytest.raises(requests.ConnectionError):
        request("GET", closed_port_url(), attempts=2, backoff=BACKOFF, timeout=5)
