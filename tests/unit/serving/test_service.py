"""The service's own per-request machinery, without HTTP: the read deadline and the direct prediction endpoints."""

import asyncio

import pytest

pytest.importorskip("starlette", reason="the service's requirements (requirements-serve.txt) are not installed")

from snaketrain.serving.app import create_app  # noqa: E402
from snaketrain.serving.guard import ReadDeadlines  # noqa: E402


def test_a_read_past_its_deadline_raises_timeout_and_a_prompt_one_returns():
    async def scenario():
        reads = ReadDeadlines(0.2)
        sweeper = asyncio.create_task(reads.sweep())
        never = asyncio.Event()

        async def slow():
            await never.wait()

        async def prompt():
            return {"type": "http.request", "body": b"{}"}

        try:
            assert await reads.receive(prompt) == {"type": "http.request", "body": b"{}"}
            started = asyncio.get_running_loop().time()
            with pytest.raises(TimeoutError):
                await reads.receive(slow)
            # at most 1.25 times the timeout, and the task is not left cancelled
            assert asyncio.get_running_loop().time() - started < 0.4
            assert asyncio.current_task().cancelling() == 0
            assert not reads.waiting and not reads.late
        finally:
            sweeper.cancel()

    asyncio.run(scenario())


def test_a_cancelled_read_stays_cancelled():
    async def scenario():
        reads = ReadDeadlines(10)
        never = asyncio.Event()

        async def slow():
            await never.wait()

        task = asyncio.create_task(reads.receive(slow))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not reads.waiting

    asyncio.run(scenario())


def test_the_prediction_endpoints_answer_503_before_a_model_is_loaded(tmp_path):
    """The direct endpoints answer as Starlette's did: JSON, the version header, the status counted."""
    app = create_app(tmp_path / "registry", names=["churn"])
    sent = []

    async def receive():
        return {"type": "http.request", "body": b'{"inputs": [[1]]}', "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/models/churn/invocations",
        "headers": [(b"content-type", b"application/json")],
        "query_string": b"",
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 503
    assert (b"x-model-version", b"none") in sent[0]["headers"]
    assert b"MODEL_NOT_READY" in sent[1]["body"]
    assert app.state.service.metrics.requests == {("/models/{name}/invocations", 503): 1}
