"""`shiyou sync --landing DIR --warehouse DIR [--date YYYY-MM-DD] [--debug]`
`shiyou explain --warehouse DIR RECORD_OR_RESIDENT`

Runs the same Dagster asset graph as the schedule and the sensor, in-process,
for one delivery date. Exit status: 0 published (or nothing new), 3 published
but one or more deliveries were refused (see the summary and `deliveries`),
1 failed (the published warehouse is untouched), 2 bad command line.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import logging
import os
import re
import sys
import threading
import traceback
import warnings
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3

# Our own exceptions carry a message meant for the operator; anything else is a bug.
USER_ERRORS = {"SyncError", "DeliveryRefused", "PublishError", "ContractError", "LandingError"}


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shiyou", description="实有: the district's actual-population warehouse")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sync", help="ingest the deliveries of one date and publish the warehouse")
    s.add_argument("--landing", required=True, type=Path, help="landing folder: <source>/<YYYY-MM-DD>/<file>")
    s.add_argument("--warehouse", required=True, type=Path, help="warehouse folder (shiyou.duckdb, parquet/)")
    s.add_argument("--date", type=_parse_date, help="delivery date (default: the newest under --landing)")
    s.add_argument("--debug", action="store_true", help="show tracebacks and Dagster's own log")
    e = sub.add_parser("explain", help="why records are one resident (or not), masked")
    e.add_argument("--warehouse", required=True, type=Path, help="warehouse folder")
    e.add_argument("key", help="resident_id, source:record_id, or record_id")
    return p


def _deepest_user_error(err) -> tuple[str, str] | None:
    """Walk a Dagster SerializableErrorInfo chain to our own exception, if there is one."""
    found = None
    while err is not None:
        if err.cls_name in USER_ERRORS:
            found = (err.cls_name, err.message.strip())
        err = err.cause or getattr(err, "context", None)
    return found


def _errors(result):
    """(step key or None, SerializableErrorInfo) of every failure event: steps and resources alike."""
    for event in result.all_events:
        err = getattr(event.event_specific_data, "error", None)
        if err is not None:
            yield event.step_key, err


def _failure_line(result) -> str:
    from shiyou.shortage import shortage_named
    from shiyou.standard.masking import mask_text

    errors = list(_errors(result))
    for _step, err in errors:
        user = _deepest_user_error(err)
        if user:
            msg = re.sub(rf"^([\w.]*\.)?{user[0]}: ", "", user[1])
            return f"shiyou: error: {mask_text(msg)}"
    for step, err in errors:
        inner = err
        while inner.cause is not None:
            inner = inner.cause
        # The message's first line, masked, without the class name it starts with (said once;
        # DuckDB's carry their module: "_duckdb.IOException: IO Error: …").
        first = mask_text(re.sub(rf"^([\w.]*\.)?{inner.cls_name}: ", "", (inner.message.strip().splitlines() or [""])[0]))
        kind = shortage_named(inner.cls_name, inner.message)
        if kind:  # the machine's limit, not a bug
            from shiyou.sync import out_of_room
            return (f"shiyou: error: step {step or '(setup)'}: {out_of_room(kind)}; nothing was published "
                    f"[{inner.cls_name}: {first}]")
        # An unexpected error may quote delivered values (a name, an address): say
        # only what kind of failure it was; --debug shows the rest to whoever may see it.
        if inner.cls_name in ("OSError", "PermissionError", "FileNotFoundError", "IOException"):
            detail = f"{inner.cls_name}: {first}"
        else:
            detail = inner.cls_name
        return (f"shiyou: error: internal failure in step {step or '(setup)'}: {detail} "
                f"(rerun with --debug for the details)")
    return "shiyou: error: the run failed (rerun with --debug)"


def run_sync(landing: Path, warehouse: Path, date: dt.date | None, debug: bool = False) -> tuple[int, list[str]]:
    """Materialise the asset graph for one date; (exit code, summary lines). Never raises for user errors."""
    from shiyou.contracts.model import default_contracts
    from shiyou.ingest import digest
    from shiyou.ingest.landing import find, newest_date

    if not landing.is_dir():
        return EXIT_FAILED, [f"shiyou: error: landing folder {landing} does not exist"]
    contracts = list(default_contracts())
    if date is None:
        date = newest_date(landing, contracts)
        if date is None:
            return EXIT_FAILED, [f"shiyou: error: no delivery folders (<source>/YYYY-MM-DD) under {landing}"]
    # The day's files are hashed on the other core while Dagster is imported and started. Only a
    # head start: whatever is wrong with the landing folder, open_run finds and reports it.
    try:
        digest.start([f.delivery.path for f in find(landing, contracts, date).values() if f.delivery])
    except Exception:  # noqa: BLE001
        pass
    from dagster import DagsterInstance, materialize

    from assets.partitions import snapshot_dates
    from pipelines.definitions import ALL_ASSETS, resources

    if not snapshot_dates.has_partition_key(date.isoformat()):
        first = snapshot_dates.get_first_partition_key()
        return EXIT_FAILED, [f"shiyou: error: delivery date {date} is outside the schedule's partitions "
                             f"({first} to tomorrow)"]
    run_config = {"loggers": {"console": {"config": {"log_level": "DEBUG" if debug else "CRITICAL"}}}}
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            ALL_ASSETS, partition_key=date.isoformat(), instance=instance, run_config=run_config,
            resources=resources(str(landing), str(warehouse)), raise_on_error=False)
    if not result.success:
        if debug:
            for _step, err in _errors(result):
                print(err.to_string(), file=sys.stderr)
        return EXIT_FAILED, [_failure_line(result)]
    out = result.output_for_node("published_warehouse")
    return (EXIT_REFUSED if out["refused"] else EXIT_OK), out["summary"]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not getattr(args, "debug", False):
        warnings.filterwarnings("ignore")
        logging.getLogger("dagster").setLevel(logging.CRITICAL)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    if args.command == "explain":
        from shiyou.explain import ExplainError, explain

        try:
            print("\n".join(explain(args.warehouse, args.key)))
        except ExplainError as e:
            print(f"shiyou: error: {e}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK
    try:
        code, lines = run_sync(args.landing, args.warehouse, args.date, args.debug)
    except KeyboardInterrupt:
        print("shiyou: interrupted; the published warehouse is unchanged", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # last resort: one line, masked, no traceback unless asked
        from shiyou.standard.masking import mask_text

        if args.debug:
            traceback.print_exc()
        print(f"shiyou: error: {exc.__class__.__name__}: {mask_text(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    stream = sys.stdout if code in (EXIT_OK, EXIT_REFUSED) else sys.stderr
    for line in lines:
        print(line, file=stream)
    return code


def entry() -> None:
    """The ``shiyou`` command: ``main``, then a quick exit.

    With the run over, its databases and files closed and its output flushed, the interpreter's
    shutdown would still spend ≈ 0.6 s (at 1M residents) in full garbage collections over the
    ≈ 450,000 objects Dagster, pandas and the run leave behind, which hold nothing to finish.
    The exit handlers run (logging, Dagster's temporary folders); the collections are skipped.
    """
    try:
        code = main()
    except SystemExit as e:  # argparse: --help, a usage error
        code = e.code
    if code is None:
        code = EXIT_OK
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = EXIT_FAILED
    for t in threading.enumerate():
        if t is not threading.main_thread() and not t.daemon:
            t.join()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (`shiyou … | head`): the code still says how it went
        pass
    os._exit(code)


if __name__ == "__main__":
    entry()
