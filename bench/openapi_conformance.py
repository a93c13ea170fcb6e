"""Count, in a schemathesis HAR report, the responses that break the server's own OpenAPI document.

    python bench/openapi_conformance.py openapi.json report.har

Prints: responses, 5xx, statuses the document does not list for the operation, and bodies that do not
match the schema the document gives for that status (JSON bodies only). Used for the before/after
figures of the hardening work (see docs/input.md).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema_rs


def _operations(document: dict) -> list[tuple[re.Pattern[str], str, dict]]:
    found = []
    for path, item in document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path.rstrip("/"))) + "/?$")
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                found.append((pattern, method.upper(), operation))
    # literal paths first (/experiments/compare/ before /experiments/{id}/)
    found.sort(key=lambda entry: entry[0].pattern.count("[^/]+"))
    return found


def main(openapi_path: str, har_path: str) -> None:
    document = json.loads(Path(openapi_path).read_text())
    operations = _operations(document)
    components = document.get("components", {})
    entries = json.loads(Path(har_path).read_text())["log"]["entries"]
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for entry in entries:
        request, response = entry["request"], entry["response"]
        status = response["status"]
        if status == 0:
            continue
        path = urlsplit(request["url"]).path
        counts["responses"] += 1
        where = f"{request['method']} {path[:80]} -> {status}"
        if status >= 500:
            counts["5xx"] += 1
            examples.setdefault("5xx", []).append(where)
        matching = (op for pattern, method, op in operations if method == request["method"] and pattern.match(path))
        operation = next(matching, None)
        if operation is None:
            counts["no operation"] += 1
            continue
        responses = operation["responses"]
        spec = responses.get(str(status)) or responses.get(f"{status // 100}XX") or responses.get("default")
        if spec is None:
            counts["undocumented status"] += 1
            examples.setdefault("undocumented status", []).append(where)
            continue
        schema = (spec.get("content") or {}).get("application/json", {}).get("schema")
        text = response.get("content", {}).get("text")
        if schema is None or not text:
            continue
        try:
            body = json.loads(text)
        except ValueError:
            counts["non-conforming body"] += 1
            examples.setdefault("non-conforming body", []).append(where + " (not JSON)")
            continue
        validator = jsonschema_rs.validator_for({**schema, "components": components})
        if not validator.is_valid(body):
            counts["non-conforming body"] += 1
            message = next(validator.iter_errors(body)).message[-120:]
            examples.setdefault("non-conforming body", []).append(f"{where}: {message}")
    for key in ("responses", "5xx", "undocumented status", "non-conforming body", "no operation"):
        print(f"{key}: {counts[key]}")
    for key, found in examples.items():
        print(f"\n{key}, by operation and status:")
        for line, n in Counter(re.sub(r"/[^/ ]{20,}", "/…", x.split(":")[0]) for x in found).most_common(15):
            print(f"  {n:5d}  {line}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
