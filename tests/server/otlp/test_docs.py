"""docs/traces.md's round-trip example runs against the live server (both databases)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import READ, WRITE, LiveServer
from tests.sdk.docblocks import doc_module, python_blocks, run_block

DOC = Path(__file__).parents[3] / "docs" / "traces.md"


def test_the_round_trip_example_runs(live_server: LiveServer) -> None:
    key, _ = live_server.new_key(READ, WRITE, "project:write_traces")
    (block,) = [b for b in python_blocks(DOC) if "OTLPSpanExporter" in b.code]
    with doc_module("traces_doc") as namespace:
        namespace["KEY"] = key
        run_block(block.code.replace("'http://127.0.0.1:8000'", repr(live_server.base_url)), namespace, block.id)
        assert namespace["case"]["tags"] == ["prod"]
