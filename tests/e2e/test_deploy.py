"""The container files, exercised without Docker (it cannot run here): the Dockerfile's build context holds
what it copies, its entry point serves with the image's environment on a data directory, its health
check passes against that server, and compose.yaml wires evalset to its PostgreSQL."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, args in dockerfile():
        if instruction == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(args))
    return env


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()]
    copies = [shlex.split(args)[:-1] for instruction, args in dockerfile() if instruction == "COPY"]
    assert copies
    for sources in copies:
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source
    instructions = dict(dockerfile())
    assert instructions["FROM"].startswith("python:") and instructions["FROM"].endswith("-slim")
    assert instructions["USER"] != "root" and json.loads(instructions["VOLUME"]) == [image_env()["EVALSET_DATA_DIR"]]
    assert os.access(ROOT / "docker" / "entrypoint.sh", os.X_OK)


def test_the_entrypoint_serves_the_data_dir_and_the_healthcheck_passes(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **image_env(), "EVALSET_DATA_DIR": str(tmp_path / "data"), "EVALSET_PORT": str(port)}
    env["EVALSET_HOST"] = "127.0.0.1"  # the image listens on every interface; the test on loopback only
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `evalset` as installed in the image
    env.pop("EVALSET_DATABASE_URL", None)
    entrypoint = str(ROOT / "docker" / "entrypoint.sh")
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([entrypoint], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while "serving at" not in log.read_text():
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert f"serving at http://127.0.0.1:{port}" in log.read_text()
        healthcheck = next(args for instruction, args in dockerfile() if instruction == "HEALTHCHECK")
        command = json.loads(healthcheck.split("CMD", 1)[1])
        assert subprocess.run(command, env=env, timeout=60).returncode == 0
        keys = subprocess.run([entrypoint, "keys", "list"], env=env, capture_output=True, text=True, timeout=120)
        assert keys.returncode == 0 and "\tdefault\tfirst key\t" in keys.stdout  # commands pass through
        assert (tmp_path / "data" / "evalset.db").exists()
    finally:
        server.terminate()
        server.wait(30)


def test_compose_runs_evalset_on_its_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    postgres, evalset = compose["services"]["postgres"], compose["services"]["evalset"]
    pg = postgres["environment"]
    url = f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
    assert evalset["environment"]["EVALSET_DATABASE_URL"] == url
    assert evalset["depends_on"]["postgres"]["condition"] == "service_healthy" and "healthcheck" in postgres
    assert evalset["build"] == "." and "8000:8000" in evalset["ports"]
