"""Benchmarks: `python -m bench` runs them all (modest defaults) on one fresh stack and prints a table.

    python -m bench                        # every benchmark below
    python -m bench orders --n 200         # one, with its own options (see --help)
    python -m bench pages --duration 10
    python -m bench study --n 1000 --duration 300   # the study target (default: --n 200)
    python -m bench --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Each benchmark is a module with `HELP`, `add_arguments(parser)` and
`async def run(stack: bench.stack.Stack, args) -> list[bench.report.Result]`; add yours to
BENCHMARKS with one line. A missed target shows as MISS in the table; the exit status stays 0
(benchmarks inform, they never gate).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from types import ModuleType

import uvloop

from bench.report import Result, table
from bench.stack import StackUnavailable, running_stack

# name -> module; in the order `python -m bench` runs them
BENCHMARKS: dict[str, str] = {
    "orders": "bench.orders",
    "pages": "bench.pages",
    "certificates": "bench.certificates",
    "study": "bench.study",
}


def _common(parser: argparse.ArgumentParser, default: object = None) -> None:
    parser.add_argument(
        "--database-url",
        default=default,
        help="PostgreSQL database of the bench's own (emptied first; created if missing), "
        "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench. Default: SQLite in a temp folder",
    )
    parser.add_argument(
        "--web-workers",
        type=int,
        default=argparse.SUPPRESS if default is argparse.SUPPRESS else 1,
        help="uvicorn worker processes for the web app (default 1)",
    )
    keep_default = argparse.SUPPRESS if default is argparse.SUPPRESS else False
    parser.add_argument(
        "--keep", action="store_true", default=keep_default, help="keep the stack's temp folder (logs, database)"
    )


def _parser(modules: dict[str, ModuleType]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Benchmarks on a fresh local stack.")
    _common(parser)
    sub = parser.add_subparsers(dest="bench")
    for name, module in modules.items():
        p = sub.add_parser(name, help=module.HELP)
        _common(p, default=argparse.SUPPRESS)  # given before or after the name, both count
        module.add_arguments(p)
    return parser


def _defaults(module: ModuleType) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    module.add_arguments(p)
    return p.parse_args([])


async def _main(argv: list[str]) -> int:
    modules = {name: importlib.import_module(path) for name, path in BENCHMARKS.items()}
    args = _parser(modules).parse_args(argv)
    chosen = [args.bench] if args.bench else list(modules)
    results: list[Result] = []
    try:
        async with running_stack(args.database_url, keep=args.keep, web_workers=args.web_workers) as stack:
            db = "PostgreSQL" if stack.settings.database_url.startswith("postgresql") else "SQLite"
            print(
                f"stack up: web {stack.base_url} ({args.web_workers} process(es)), "
                f"Temporal {stack.settings.temporal_address}, {db}",
                flush=True,
            )
            for name in chosen:
                options = args if args.bench else _defaults(modules[name])
                started = time.perf_counter()
                print(f"running {name} …", flush=True)
                got = await modules[name].run(stack, options)
                print(f"  {name} done in {time.perf_counter() - started:.1f} s", flush=True)
                results += got
    except StackUnavailable as exc:
        print(f"skipped: {exc}")
        return 0
    print()
    print(table(results))
    return 0


def main() -> None:
    sys.exit(uvloop.run(_main(sys.argv[1:])))  # the load generator's own CPU competes with the stack


if __name__ == "__main__":
    main()
