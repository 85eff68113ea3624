"""The service's Prometheus metrics: requests by endpoint and status, a latency histogram by endpoint, the version
served and the last version refused, per name."""

import bisect
import itertools

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Counted in plain Python on the event loop (every request updates them, so they must cost next to nothing)
    and turned into Prometheus families when /metrics is scraped (the prometheus_client collector protocol)."""

    def __init__(self, followers):
        self.requests = {}  # (endpoint, status) -> count
        self.latency = {}  # endpoint -> [bucket counts..., +Inf count], sum of seconds
        self.followers = followers

    def observe(self, endpoint, status, seconds):
        key = (endpoint, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        histogram = self.latency.get(endpoint)
        if histogram is None:
            histogram = self.latency[endpoint] = [[0] * (len(LATENCY_BUCKETS) + 1), 0.0]
        histogram[0][bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        histogram[1] += seconds

    def collect(self):
        """The families as they are now."""
        yield self._requests()
        yield self._latency()
        yield from self._versions()

    def _requests(self):
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(
            "snaketrain_serve_requests", "HTTP requests by endpoint and status", labels=["endpoint", "status"]
        )
        for (endpoint, status), count in sorted(self.requests.items()):
            family.add_metric([endpoint, str(status)], count)
        return family

    def _latency(self):
        from prometheus_client.core import HistogramMetricFamily

        family = HistogramMetricFamily(
            "snaketrain_serve_request_seconds", "Time to answer, by endpoint", labels=["endpoint"]
        )
        bounds = [str(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]
        for endpoint, (counts, total) in sorted(self.latency.items()):
            cumulative = list(itertools.accumulate(counts))
            family.add_metric([endpoint], list(zip(bounds, cumulative, strict=True)), total)
        return family

    def _versions(self):
        """The version each name serves, and the last one it refused."""
        from prometheus_client.core import GaugeMetricFamily

        model = GaugeMetricFamily(
            "snaketrain_serve_model_info", "The version served (value 1)", labels=["name", "version", "engine"]
        )
        refused = GaugeMetricFamily(
            "snaketrain_serve_refused_version_info",
            "The last version refused because it did not load or verify (value 1)",
            labels=["name", "version"],
        )
        for name, follower in self.followers.items():
            if follower.current:
                model.add_metric([name or "", follower.version, follower.current.predictor.engine], 1)
            if follower.refused:
                refused.add_metric([name or "", follower.refused["version"]], 1)
        return model, refused
