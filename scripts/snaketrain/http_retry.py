"""HTTP requests that retry transient failures: connection errors, timeouts and 5xx answers.

A 4xx answer is the caller's mistake and is raised at once. Used by the url data source and by alerts.
"""


def _transient(error):
    import requests

    if isinstance(error, (requests.ConnectionError, requests.Timeout)):
        return True
    response = getattr(error, "response", None)
    return response is not None and response.status_code >= 500


def request(method, url, attempts, backoff, timeout, logger=None, what="request", **kwargs):
    """The successful response; after the last attempt the last error is raised (requests' own type).

    The waits between attempts are backoff, 2 x backoff, 4 x backoff ... seconds (at most 5).
    """
    import requests
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    def report_retry(state):
        error = state.outcome.exception()
        response = getattr(error, "response", None)
        failure = f"HTTP {response.status_code}" if response is not None else type(error).__name__
        if logger is not None:
            message = "%s attempt %d of %d failed (%s); retrying in %.1f s"
            logger.warning(message, what, state.attempt_number, attempts, failure, state.next_action.sleep)

    @retry(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=backoff, max=5),
        before_sleep=report_retry,
        reraise=True,
    )
    def send():
        response = requests.request(method, url, timeout=timeout, **kwargs)
        response.raise_for_status()
        return response

    return send()
