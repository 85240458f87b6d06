"""Every shipped pipeline writes the bytes it wrote when ``tests/data/pipeline_outputs.json`` was recorded."""

import json

import pytest
from pipeline_outputs import RECORD, outputs


def test_every_pipeline_writes_the_recorded_bytes():
    with open(RECORD) as f:
        recorded = json.load(f)
    current = outputs()
    if not current.keys() <= recorded.keys():
        pytest.fail(f"pipelines without a record: {sorted(current.keys() - recorded.keys())}")
    changed = sorted(key for key, digest in current.items() if recorded[key] != digest)
    assert not changed, f"output changed for {changed}"
