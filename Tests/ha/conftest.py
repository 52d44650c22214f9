"""The `cluster` fixture every HA test uses: a fresh `Cluster` in its own directory, whose Redis,
sentinel and firehose processes (and the subscribers and publishers the test `track`s) are all
stopped afterwards, with the processes' logs printed when the test failed."""

from __future__ import annotations

import os
import tempfile

import pytest

from cluster import Cluster

FIREHOSE = os.environ.get("FIREHOSE_BIN", ".build/debug/firehose")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture
def cluster(request):
    assert os.path.exists(FIREHOSE), f"no firehose binary at {FIREHOSE} (set FIREHOSE_BIN)"
    cluster = Cluster(tempfile.mkdtemp(prefix="firehose-ha-"), FIREHOSE)
    yield cluster
    if getattr(request.node, "failed_call", True):  # failed, or never ran its body
        print(cluster.logs())
    cluster.close()
