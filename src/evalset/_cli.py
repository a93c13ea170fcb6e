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
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evalset import files
from evalset._serialization import UNSET

if TYPE_CHECKING:
    from evalset._client import DatasetsClient

__all__ = ["DATASET_COMMANDS", "add_dataset_commands", "run_dataset_command", "main"]

DATASET_COMMANDS = frozenset({"push", "pull", "datasets"})


def add_dataset_commands(commands: Any) -> None:
    """Add push, pull and `datasets list` to the subcommands of an `evalset` parser."""
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--api-key", default=None, help="API key (default: $EVALSET_API_KEY)")
    connection.add_argument(
        "--base-url", default=None, help="server URL (default: $EVALSET_BASE_URL, else http://127.0.0.1:8000)"
    )
    formats = {"choices": files.FORMATS, "default": None, "help": "file format (default: from the file's suffix)"}

    push = commands.add_parser("push", parents=[connection], help="upload a dataset file (create or update)")
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

    pull = commands.add_parser("pull", parents=[connection], help="download a dataset to a file")
    pull.add_argument("name", help="dataset name or id")
    pull.add_argument("-o", "--output", required=True, help="file to write (.yaml/.yml/.json/.jsonl/.csv)")
    pull.add_argument("--format", **formats)
    pull.add_argument("--as-of", default=None, help="the dataset as it was at this ISO 8601 time")

    datasets = commands.add_parser("datasets", help="list datasets").add_subparsers(dest="action", required=True)
    datasets.add_parser("list", parents=[connection], help="list the datasets of the key's project")


def run_dataset_command(args: argparse.Namespace) -> int:
    """Run push, pull or `datasets list`; failures print one readable message and return 1."""
    # Imported here: `evalset serve` shares this parser and should not load the HTTP client.
    import httpx

    from evalset._client import DatasetsClient
    from evalset.errors import DatasetApiError

    try:
        with DatasetsClient(api_key=args.api_key, base_url=args.base_url) as client:
            return _COMMANDS[args.command](client, args)
    except (DatasetApiError, ValueError, OSError, httpx.HTTPError) as exc:
        sys.stderr.write(f"evalset {args.command}: {exc}\n")
        return 1


def _push(client: DatasetsClient, args: argparse.Namespace) -> int:
    data = files.read_dataset_file(args.file, fmt=args.format)
    total = len(data["cases"])
    description = args.description if args.description is not None else UNSET
    detail = client.push_dataset(
        data, name=args.name, description=description, on_case_conflict=args.on_conflict, on_progress=_progress
    )
    sys.stdout.write(
        f"Pushed {total} case(s) from {args.file} to dataset {detail['name']!r} "
        f"({detail.get('case_count', '?')} cases in total, id {detail['id']}).\n"
    )
    return 0


def _pull(client: DatasetsClient, args: argparse.Namespace) -> int:
    fmt = files.file_format(args.output, args.format)
    data = client.export_dataset(args.name, as_of=args.as_of)
    files.write_dataset_file(data, args.output, fmt=fmt)
    if fmt in ("jsonl", "csv") and (data.get("evaluators") or data.get("report_evaluators")):
        sys.stderr.write(f"note: {fmt.upper()} files hold cases only; the dataset-level evaluators were not written.\n")
    sys.stdout.write(f"Wrote {len(data['cases'])} case(s) of dataset {args.name!r} to {args.output}.\n")
    return 0


def _list(client: DatasetsClient, args: argparse.Namespace) -> int:
    rows = client.list_datasets()
    if not rows:
        sys.stdout.write("No datasets yet: `evalset push FILE` uploads one.\n")
    for row in rows:
        description = (row.get("description") or "").replace("\n", " ")
        sys.stdout.write(f"{row['name']}\t{row.get('case_count', 0)} cases\t{row['id']}\t{description}\n")
    return 0


def _progress(sent: int, total: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\ruploaded {sent}/{total} cases" + ("\n" if sent >= total else ""))


_COMMANDS = {"push": _push, "pull": _pull, "datasets": _list}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evalset._cli ...`: the dataset commands alone (the `evalset` command has them too)."""
    parser = argparse.ArgumentParser(prog="evalset", description="Push and pull evalset datasets.")
    add_dataset_commands(parser.add_subparsers(dest="command", required=True))
    return run_dataset_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
