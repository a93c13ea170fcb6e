"""/docs and /redoc work with no internet: every asset they reference is served by the server itself."""

from __future__ import annotations

import re

import pytest

from tests.conftest import LiveServer

REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_reference_only_assets_the_server_serves(live_server: LiveServer, page: str) -> None:
    with live_server.client() as client:
        html = client.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        references = [a or b for a, b in REFERENCE.findall(html.text)]
        assert references, html.text
        assert not [ref for ref in references if "//" in ref], references  # no CDN, no other host
        assert "http://" not in html.text and "https://" not in html.text  # no fonts or favicons from elsewhere
        assert "openapi.json" in " ".join(references)
        for ref in references:
            asset = client.get(ref)
            assert asset.status_code == 200, ref
            if ref.endswith(".js"):
                assert "javascript" in asset.headers["content-type"] and len(asset.content) > 100_000
            elif ref.endswith(".css"):
                assert asset.headers["content-type"].startswith("text/css")
