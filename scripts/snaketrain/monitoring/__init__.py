"""Monitoring: reference profiles of registered versions and the drift tests run against them.

profile.py      what a version's training part looked like (pure: DataFrame in, JSON-ready dict out)
drift_tests.py  one column of current data against its profile, with Evidently's default tests (scipy.stats)
verdict.py      dataset drift, the production metric check, and whether to retrain
reference.py    a version's profile in the registry: read, verified, written once for older versions
reservoir.py    a bounded sample of the inputs the model service answered
"""
