"""The sample suite's clients: plain httpx, configured from the variables the tapedeck plugin sets
(ANTHROPIC_BASE_URL, OPENAI_BASE_URL, and the keys), as an SDK would configure itself.

When SAMPLE_ANSWERS names a folder, each test saves what it received there (one JSON file per
test, keyed by node id) for the driver tests to compare a replay with its recording.
"""

import hashlib
import json
import os
import pathlib

import httpx
import pytest

ANTHROPIC_VERSION = "2023-06-01"


@pytest.fixture
def anthropic(tapedeck):
    # Depends on `tapedeck`, so the base URL is set before the client reads it.
    with httpx.Client(base_url=os.environ["ANTHROPIC_BASE_URL"], timeout=30, headers={
        "x-api-key": os.environ["ANTHROPIC_API_KEY"],
        "anthropic-version": ANTHROPIC_VERSION,
    }) as client:
        yield client


@pytest.fixture
def openai(tapedeck):
    with httpx.Client(base_url=os.environ["OPENAI_BASE_URL"], timeout=30, headers={
        "authorization": "Bearer " + os.environ["OPENAI_API_KEY"],
    }) as client:
        yield client


@pytest.fixture
def save_answer(request):
    """Saves what the test received, when SAMPLE_ANSWERS names a folder."""

    def save(answer):
        folder = os.environ.get("SAMPLE_ANSWERS")
        if not folder:
            return
        nodeid = request.node.nodeid
        path = pathlib.Path(folder, hashlib.sha256(nodeid.encode()).hexdigest()[:16] + ".json")
        path.write_text(json.dumps({"nodeid": nodeid, "answer": answer}, ensure_ascii=False))

    return save

