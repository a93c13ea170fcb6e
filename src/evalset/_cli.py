# pyright: strict
"""The dataset commands of `evalset`: push, pull and `datasets list`, over the SDK (no server code).

```
evalset push golden.yaml [--name qa-golden-set]     # YAML/JSON as Dataset.to_file writes, or .jsonl/.csv
evalset pull qa-golden-set -o golden.yaml           # Dataset.from_file loads it (also .json/.jsonl/.csv)
evalset datasets list
```
Key and URL come from `--api-key` / `--base-url` or `EVALSET_API_KEY` / `EVALSET_BASE_URL`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

FORMATS = ("yaml", "json", "jsonl", "csv")
"""`evalset.files.FORMATS`, repeated so that building the command line (and `evalset serve`'s start) does
not import the file and serialisation modules; a test keeps the two equal."""

if TYPE_CHECKING:
    from evalset._client import DatasetsClient

__all__ = ["DATASET_COMMANDS", "add_dataset_commands", "run_dataset_command", "connection_options", "main"]

DATASET_COMMANDS = frozenset({"push", "pull", "datasets"})
PROGRESS_MIN_CASES = 1000
"""Smaller files go up or down too fast for a progress bar to help."""

PUSH_HELP = """\
Create the dataset if it is new (typed from the JSON Schema the file names, as Dataset.to_file writes it)
or update it, then upsert its cases by name: pushing the same file twice changes nothing.

Cases go up in chunks of 500, each one all or nothing: if a chunk fails, the chunks before it stay saved
(fix the file and push again). With --atomic, all cases go in one request: all of them or none.
Tags travel in .jsonl (a "tags" key) and .csv (a "tags" column) files."""


def connection_options() -> argparse.ArgumentParser:
    """`--api-key` and `--base-url`, as a parent parser."""
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--api-key", default=None, help="API key (default: $EVALSET_API_KEY)")
    connection.add_argument(
        "--base-url", default=None, help="server URL (default: $EVALSET_BASE_URL, else http://127.0.0.1:8000)"
    )
    return connection


def add_dataset_commands(commands: Any, *, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """Add push, pull and `datasets list` to the subcommands of an `evalset` parser."""
    common = [*parents, connection_options()]
    formats = {"choices": FORMATS, "default": None, "help": "file format (default: from the file's suffix)"}

    push = commands.add_parser(
        "push",
        parents=common,
        help="upload a dataset file (create or update)",
        description=PUSH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    push.add_argument("file", help="a .yaml/.yml/.json file as Dataset.to_file writes it, or .jsonl/.csv")
    push.add_argument("--name", default=None, help="dataset name (default: the file's name, else its stem)")
    push.add_argument("--description", default=None, help="set the dataset's description")
    push.add_argument("--format", **formats)
    push.add_argument(
        "--on-conflict",
        choices=("update", "error"),
        default="update",
        help="a case whose name exists: update it (default) or fail",
    )
    push.add_argument("--atomic", action="store_true", help="send all cases in one request: all or nothing")

    pull = commands.add_parser(
        "pull",
        parents=common,
        help="download a dataset to a file",
        description="Write a dataset to a file: YAML/JSON as Dataset.from_file loads them, or JSONL/CSV "
        "(which keep the cases' tags, and not the dataset-level evaluators).",
    )
    pull.add_argument("name", help="dataset name or id")
    pull.add_argument("-o", "--output", required=True, help="file to write (.yaml/.yml/.json/.jsonl/.csv)")
    pull.add_argument("--format", **formats)
    pull.add_argument("--as-of", default=None, help="the dataset as it was at this ISO 8601 time")

    datasets = commands.add_parser("datasets", parents=parents, help="list datasets")
    actions = datasets.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=common, help="list the datasets of the key's project")


def run_dataset_command(args: argparse.Namespace) -> int:
    """Run push, pull or `datasets list`; failures print one readable message and return 1."""
    # Imported here: `evalset serve` shares this parser and should not load the HTTP client.
    import httpx

    from evalset._client import DatasetsClient
    from evalset.errors import DatasetApiError

    command = "datasets list" if args.command == "datasets" else args.command
    if not (args.api_key or os.environ.get("EVALSET_API_KEY")):
        return _fail(
            command,
            "no API key: pass --api-key KEY or set EVALSET_API_KEY. On the server, `evalset keys create "
            "--project NAME --scope project:read_datasets --scope project:write_datasets` makes one.",
        )
    try:
        with DatasetsClient(api_key=args.api_key, base_url=args.base_url) as client:
            return _COMMANDS[args.command](client, args)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        url = exc.request.url.copy_with(path="/", query=None) if _has_request(exc) else "the server"
        return _fail(
            command,
            f"cannot reach the evalset server at {url} ({exc}). Start it with `evalset serve`, "
            "or point --base-url (or EVALSET_BASE_URL) at the running server.",
        )
    except DatasetApiError as exc:
        return _fail(command, _in_cli_words(str(exc)))
    except BrokenPipeError:
        raise  # the reader went away (`| head`): evalset.server.cli.main ends quietly
    except (ValueError, OSError, httpx.HTTPError) as exc:
        return _fail(command, str(exc))


def _fail(command: str, message: str) -> int:
    sys.stderr.write(f"evalset {command}: {message}\n")
    return 1


def _has_request(exc: Any) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when the error has no request
    except RuntimeError:
        return False
    return True


_CLI_WORDS = (
    ("pass api_key= or set EVALSET_API_KEY", "pass --api-key or set EVALSET_API_KEY"),
    ("list_datasets() shows", "`evalset datasets list` shows"),
    ("list_cases() shows", "`evalset pull` shows"),
    ("Is base_url the root", "Is --base-url (or EVALSET_BASE_URL) the root"),
    ("Fix the case and upload again", "Fix the case and push again"),
)


def _in_cli_words(message: str) -> str:
    """The SDK's hints name Python arguments; on the command line they name options and commands."""
    for sdk, cli in _CLI_WORDS:
        message = message.replace(sdk, cli)
    return message


def _push(client: DatasetsClient, args: argparse.Namespace) -> int:
    from evalset import _operations as ops
    from evalset import files
    from evalset._serialization import UNSET, check_dataset_name
    from evalset.errors import DatasetNotFoundError

    data = files.read_dataset_file(args.file, fmt=args.format)
    name = args.name or data.get("name") or ""
    try:
        check_dataset_name(name)
    except ValueError as exc:
        if args.name:
            raise
        raise ValueError(f"{exc} It comes from the file {args.file!r}: choose a name with --name NAME.") from None
    data["name"] = name
    typed = files.file_schemas(args.file) if files.file_format(args.file, args.format) in ("yaml", "json") else None
    try:
        client.get_dataset(name)
        new = False
    except DatasetNotFoundError:
        new = True
    total = len(data["cases"])
    description = args.description if args.description is not None else UNSET
    flow = ops.push_dataset(
        data,
        description=description,
        on_case_conflict=args.on_conflict,
        chunk_size=max(total, 1) if args.atomic else ops.DEFAULT_CHUNK_SIZE,
        on_progress=Progress("Pushing", total) if not args.atomic else None,
        new_dataset_fields=typed[1] if typed and new else None,
    )
    detail = client._run(flow)  # pyright: ignore[reportPrivateUsage]
    if new:
        typed_from = f", typed from {typed[0].name} ({', '.join(sorted(typed[1]))})" if typed and typed[1] else ""
        sys.stdout.write(f"Created dataset {name!r}{typed_from}.\n")
    elif typed and typed[1]:
        sys.stdout.write(
            f"Dataset {name!r} exists: its schemas were left as they are (not read from {typed[0].name}).\n"
        )
    sys.stdout.write(
        f"Pushed {total} case(s) from {args.file} to dataset {detail['name']!r} "
        f"({detail.get('case_count', '?')} cases in total, id {detail['id']}).\n"
    )
    return 0


def _pull(client: DatasetsClient, args: argparse.Namespace) -> int:
    from evalset import _operations as ops
    from evalset import files
    from evalset.errors import DatasetNotFoundError

    fmt = files.file_format(args.output, args.format)
    with_tags = fmt in ("jsonl", "csv")
    status = f"Downloading dataset {args.name!r}..." if sys.stderr.isatty() else ""
    sys.stderr.write(status)
    try:
        export = ops.export_dataset(args.name, None, as_of=args.as_of, include_tags=with_tags)
        data = client._send(export)  # pyright: ignore[reportPrivateUsage]
    except DatasetNotFoundError:
        if args.as_of:
            _explain_as_of(client, args.name, args.as_of)
        raise
    finally:
        sys.stderr.write("\r" + " " * len(status) + "\r" if status else "")
    total = len(data["cases"])
    files.write_dataset_file(data, args.output, fmt=fmt, on_progress=Progress("Writing", total))
    if with_tags and (data.get("evaluators") or data.get("report_evaluators")):
        sys.stderr.write(f"note: {fmt.upper()} files hold cases only; the dataset-level evaluators were not written.\n")
    sys.stdout.write(f"Wrote {total} case(s) of dataset {args.name!r} to {args.output}.\n")
    return 0


def _explain_as_of(client: DatasetsClient, name: str, as_of: str) -> None:
    """A dataset that exists now but not at `as_of` was created later: say that rather than 'not found'."""
    from evalset.errors import DatasetNotFoundError

    try:
        created = client.get_dataset(name).get("created_at", "later")
    except DatasetNotFoundError:
        return
    raise ValueError(f"Dataset {name!r} did not exist yet at {as_of}: it was created at {created}.")


def _list(client: DatasetsClient, args: argparse.Namespace) -> int:
    rows = client.list_datasets()
    if not rows:
        sys.stdout.write("No datasets yet: `evalset push FILE` uploads one.\n")
    for row in rows:
        description = (row.get("description") or "").replace("\n", " ")
        sys.stdout.write(f"{row['name']}\t{row.get('case_count', 0)} cases\t{row['id']}\t{description}\n")
    return 0


class Progress:
    """A progress bar on stderr, `verb [####....] done/total cases, rate`: only on a terminal, only for
    large files, redrawn at most ten times a second."""

    def __init__(self, verb: str, total: int, stream: IO[str] | None = None) -> None:
        self.verb, self.total = verb, total
        self.stream = stream or sys.stderr
        self.enabled = total >= PROGRESS_MIN_CASES and self.stream.isatty()
        self.start = self.drawn = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self.drawn < 0.1:
            return
        self.drawn = now
        rate = done / max(now - self.start, 1e-6)
        filled = 30 * done // max(total, 1)
        bar = "#" * filled + "." * (30 - filled)
        self.stream.write(f"\r{self.verb} [{bar}] {done:,}/{total:,} cases, {rate:,.0f} cases/s ")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


_COMMANDS = {"push": _push, "pull": _pull, "datasets": _list}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evalset._cli ...`: the dataset commands alone (the `evalset` command has them too)."""
    parser = argparse.ArgumentParser(prog="evalset", description="Push and pull evalset datasets.")
    add_dataset_commands(parser.add_subparsers(dest="command", required=True))
    return run_dataset_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
