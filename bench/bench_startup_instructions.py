"""Instructions executed by `evalset serve` from its start to its first authenticated API answer (callgrind).

Usage: .venv/bin/python bench/bench_startup_instructions.py [--backend sqlite|postgresql|both] [--compiled]

On a fresh, migrated database holding a key, runs `evalset.server.cli.main(["--db", URL, "serve", ...])` in
one process under `valgrind --tool=callgrind`; a thread of that process polls GET /health, then sends an
authenticated GET /v1/datasets/ and stops the server. Prints the instruction count (Ir): unlike wall or CPU
time, it does not depend on what else the machine runs (a run takes a minute or two). Compare two source
trees in the same run by setting PYTHONPATH to the other tree's `src` (PYTHONHASHSEED is fixed at 0).
`--compiled` byte-compiles the evalset modules first (as `pip install` does), so that a
PYTHONDONTWRITEBYTECODE environment does not count compiling them.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import PYTHON, ROOT, create_key, fresh_database, log  # noqa: E402 - not a package

DRIVER = """
import http.client, os, signal, sys, threading, time
url, key, port = sys.argv[1:4]
def client():
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
            c.request("GET", "/health"); r = c.getresponse(); r.read()
            if r.status == 200: break
        except OSError:
            time.sleep(0.05)
    c.request("GET", "/v1/datasets/", headers={"Authorization": "Bearer " + key}); r = c.getresponse(); r.read()
    sys.stderr.write(f"first API answer {r.status}\\n")  # one write: a log line cannot land inside it
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=client, daemon=True).start()
from evalset.server.cli import main
main(["--db", url, "serve", "--port", port])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def instructions(url: str, key: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSET_")}
    env.setdefault("PYDANTIC_DISABLE_PLUGINS", "logfire-plugin")  # as bench_server: a deployed server has no logfire
    env["PYTHONHASHSEED"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", PYTHON, "-c", DRIVER]
        run = subprocess.run([*cmd, url, key, str(free_port())], env=env, cwd=ROOT, capture_output=True, text=True)
    if "first API answer 200" not in run.stderr:
        raise RuntimeError(f"the server did not answer:\n{run.stderr[-3000:]}")
    return int(re.search(r"Collected : (\d+)", run.stderr).group(1))  # type: ignore[union-attr]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--compiled", action="store_true", help="byte-compile the evalset modules first")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        parser.error("needs valgrind (apt-get install valgrind)")
    if args.compiled:
        import evalset

        compileall.compile_dir(str(Path(evalset.__file__).parent), quiet=1)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="evalset-bench-startup-") as tmp:
        for backend in backends:
            with fresh_database(backend, Path(tmp)) as url:
                migrate = [PYTHON, "-m", "evalset.server.cli", "--db", url, "migrate"]
                subprocess.run(migrate, cwd=ROOT, check=True, capture_output=True)
                key = create_key(url)
                log(f"{backend}: callgrind of a start to the first API answer ...")
                print(f"{backend}: {instructions(url, key) / 1e9:.3f} G instructions to the first API answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
