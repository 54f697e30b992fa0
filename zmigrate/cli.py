"""The `zmigrate` command line: thin click wrappers around the modules that do the work.

Exit codes: 0 done; 1 finished with failed records; 2 bad manifest or usage; 3 paused on a
quota that resets later; 130 interrupted.

Everything printed here goes through :mod:`zmigrate.scrub` (:func:`say`), as do log lines.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Any, NoReturn

import click

from zmigrate import __version__
from zmigrate.errors import UsageError, ZmigrateError
from zmigrate.scrub import ScrubbingFormatter, register_env, scrub


def say(text: str, *, err: bool = False) -> None:
    """Print one text, scrubbed of credentials."""
    click.echo(scrub(text), err=err)


def fail(command: str, error: ZmigrateError) -> NoReturn:
    """One line on stderr naming the command and what to do; the error's exit code."""
    say(f"zmigrate {command}: {error}", err=True)
    raise SystemExit(error.exit_code)


def os_failure(error: OSError, run_dir: str) -> ZmigrateError:
    """A file the run writes (store, report, dead letters, exports) could not be written."""
    from pathlib import Path

    from zmigrate.checkpoint import RunStore, disk_full, is_disk_full
    from zmigrate.errors import StoreError

    where = Path(run_dir)
    if is_disk_full(error, where):
        return disk_full(where, resumable=RunStore.exists(where))
    return StoreError(
        f"cannot write {error.filename or where}: {error.strerror}; check that path and its "
        "permissions, then run the same command again"
    )


def _scrubbed_traceback(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    """A bug's traceback still goes through the scrubber (its messages may quote Zoho)."""
    sys.stderr.write(scrub("".join(traceback.format_exception(kind, value, tb))))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zmigrate")
def main() -> None:
    """Move data into and out of Zoho CRM, Books and Inventory, exactly once."""
    register_env(os.environ)
    sys.excepthook = _scrubbed_traceback
    handler = logging.StreamHandler()
    handler.setFormatter(ScrubbingFormatter("zmigrate: %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


# ---- resume and status (the run store, issue 6) -----------------------------------------


@main.command("status")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def status_command(run_dir: str, as_json: bool) -> None:
    """Progress of the run in RUN_DIR: per step done / failed / left, quota, pause, last error.

    Reads the run store without its lock, so it works while the run goes on.
    """
    import orjson

    from zmigrate import status
    from zmigrate.errors import StoreError

    try:
        summary = status.load(run_dir)
    except StoreError as e:
        fail("status", e)
    if as_json:
        say(orjson.dumps(status.as_json(summary), option=orjson.OPT_INDENT_2).decode())
    else:
        say(status.render(summary))


@main.command("resume")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--wait",
    is_flag=True,
    help="Paused on a daily cap or CRM credits: sleep until the reset and go on by itself.",
)
@click.option(
    "--force",
    is_flag=True,
    help="The manifest or a source changed: re-plan what is left against the new inputs.",
)
@click.option(
    "--clock-speed",
    type=float,
    default=None,
    help="Zoho seconds per real second: a rehearsal's (default: the run's) or a sandbox's "
    "started with --clock-speed and reached through ZOHO_*_URL. Default against Zoho: 1.",
)
def resume_command(run_dir: str, wait: bool, force: bool, clock_speed: float | None) -> None:
    """Continue the run in RUN_DIR exactly where it stopped: no record lost, none twice.

    Batches that were in flight are checked against Zoho before anything is resent. Refuses
    when the manifest or a source changed (--force re-plans); exit codes as `zmigrate run`.
    """
    from zmigrate import resume as resuming
    from zmigrate.run import run_interruptible

    try:
        report = run_interruptible(
            lambda interrupt: resuming.resume(
                run_dir, wait=wait, force=force, clock_speed=clock_speed, interrupt=interrupt
            )
        )
    except ZmigrateError as e:
        fail("resume", e)
    except OSError as e:
        fail("resume", os_failure(e, run_dir))
    say(report.render())
    raise SystemExit(report.exit_code)


# ---- verify and rollback (after a run, issue 13) ----------------------------------------


@main.command("verify")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--dry-run", is_flag=True, help="Print what reading back costs; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--sample", type=click.IntRange(min=1), default=None, help="N records a step.")
@click.option(
    "--clock-speed",
    type=float,
    default=None,
    help="Zoho seconds per real second, as `resume` (a rehearsal's default: 60).",
)
def verify_command(
    run_dir: str, dry_run: bool, as_json: bool, sample: int | None, clock_speed: float | None
) -> None:
    """Read back what the run in RUN_DIR landed and compare it, field by field, with its sources.

    Against the run's Zoho (ZOHO_*), or a rehearsal's sandbox; writes nothing to Zoho.
    Differences go to RUN_DIR/verify/diffs.jsonl. Exit codes: 0 every record matches;
    1 a record differs or is missing in Zoho, or Zoho failed; 2 bad run directory or
    usage; 3 a quota is spent (verify again after the reset: it goes on where it stopped).
    """
    import asyncio

    import orjson

    from zmigrate import verify

    try:
        if dry_run:
            the_bill = verify.bill(run_dir, sample)
            if as_json:
                say(orjson.dumps({"dry_run": True, "bill": the_bill.as_dict()}).decode())
            else:
                for line in the_bill.lines():
                    say(f"cost: {line}")
                say("dry run: nothing sent")
            return
        note = (lambda _: None) if as_json else (lambda t: say(f"zmigrate verify: {t}", err=True))
        result = asyncio.run(
            verify.verify(run_dir, sample=sample, clock_speed=clock_speed, note=note)
        )
    except ZmigrateError as e:
        fail("verify", e)
    except OSError as e:
        fail("verify", os_failure(e, run_dir))
    if as_json:
        say(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        say(result.render())
    raise SystemExit(result.exit_code)


@main.command("rollback")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--dry-run", is_flag=True, help="Print what would be deleted and what it costs.")
@click.option("--yes", is_flag=True, help="Delete without asking (needed without a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--clock-speed",
    type=float,
    default=None,
    help="Zoho seconds per real second, as `resume` (a rehearsal's default: 60).",
)
def rollback_command(
    run_dir: str, dry_run: bool, yes: bool, as_json: bool, clock_speed: float | None
) -> None:
    """Delete exactly the records the run in RUN_DIR created, children before parents.

    Records the run found or updated are left in place (and listed). Checkpointed: a
    killed rollback goes on where it stopped; a second one sends nothing. Exit codes:
    0 every created record is deleted; 1 Zoho refused some (listed with its reason) or
    failed; 2 bad run directory, or no --yes without a terminal; 3 a quota is spent
    (roll back again after the reset).
    """
    import asyncio

    import orjson

    from zmigrate import rollback
    from zmigrate.errors import UsageError

    try:
        the_bill = rollback.bill(run_dir)
        if dry_run or not yes:
            if as_json and dry_run:
                say(orjson.dumps({"dry_run": True, "bill": rollback.bill_json(the_bill)}).decode())
                return
            for s in the_bill:
                say(
                    f"{s.step}: delete {s.delete} {s.product}/{s.module} records, "
                    f"restore {s.restore} from before-images "
                    f"({s.requests} requests, {s.credits} credits); "
                    f"{s.left_in_place} found or updated stay"
                )
        if dry_run:
            say("dry run: nothing sent")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(
                    "rollback deletes records in Zoho: confirm with --yes (stdin is not a "
                    "terminal to ask on); --dry-run shows what it would delete"
                )
            total = sum(s.delete for s in the_bill)
            if not click.confirm(f"delete these {total} records from Zoho?", default=False):
                say("nothing deleted")
                raise SystemExit(1)
        note = (lambda _: None) if as_json else (lambda t: say(f"zmigrate rollback: {t}", err=True))
        result = asyncio.run(rollback.rollback(run_dir, clock_speed=clock_speed, note=note))
    except ZmigrateError as e:
        fail("rollback", e)
    except OSError as e:
        fail("rollback", os_failure(e, run_dir))
    if as_json:
        say(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        say(result.render())
    raise SystemExit(result.exit_code)


# ---- sandbox (the local Zoho, issues 2 and 3) ---------------------------------------------


@main.command("sandbox")
@click.option("--port", type=int, default=0, help="API port (accounts: +1, content: +2).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--clock-speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Zoho seconds per real second (token lifetimes, minute windows, days).",
)
@click.option("--books-plan", default="standard", show_default=True)
@click.option("--inventory-plan", default="standard", show_default=True)
@click.option("--crm-edition", default="enterprise", show_default=True)
@click.option("--crm-users", type=int, default=10, show_default=True, help="Licensed CRM users.")
@click.option(
    "--crm-user-count",
    type=int,
    default=3,
    show_default=True,
    help="Users the CRM org starts with (without --schema), the admin first.",
)
@click.option(
    "--crm-throttle-status",
    type=click.Choice(["429", "400"]),
    default="429",
    show_default=True,
    help="HTTP status of CRM throttling answers.",
)
@click.option(
    "--latency-ms",
    type=float,
    default=0.0,
    show_default=True,
    help="Median latency in Zoho milliseconds (log-normal jitter).",
)
@click.option(
    "--fault-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of API calls meeting a fault: 500/1000, reset or slow response.",
)
@click.option(
    "--lost-response-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of API calls whose answer is lost after the write committed.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of faults and ids.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Keep credentials, tokens and records here across restarts.",
)
@click.option("--data-center", default="com", show_default=True)
@click.option(
    "--organizations",
    type=int,
    default=1,
    show_default=True,
    help="Books/Inventory organizations to create.",
)
@click.option(
    "--schema",
    type=click.Path(dir_okay=False),
    default=None,
    help="Start the CRM org from a schema snapshot (zmigrate schema pull) instead of the "
    "built-in standard modules.",
)
@click.option(
    "--strict-fields",
    is_flag=True,
    help="Answer INVALID_DATA for unknown CRM field names in record writes (Zoho ignores them).",
)
@click.option(
    "--block-seconds",
    type=float,
    default=1800.0,
    show_default=True,
    help="How long code 44 blocks a Books/Inventory org (Retry-After), in Zoho seconds.",
)
@click.option(
    "--org-time-zone",
    default="Etc/UTC",
    show_default=True,
    help="The Books/Inventory orgs' time zone (IANA): daily caps reset at its midnight.",
)
@click.option(
    "--rate-limit-headers/--no-rate-limit-headers",
    default=True,
    show_default=True,
    help="Books/Inventory X-Rate-Limit-* headers (Zoho documents none).",
)
def sandbox_command(**options: object) -> None:
    """Serve a local Zoho on 127.0.0.1; print one JSON line with URLs and credentials."""
    import asyncio

    from zmigrate.errors import UsageError
    from zmigrate.sandbox.app import SandboxConfig
    from zmigrate.sandbox.serve import serve

    options["crm_throttle_status"] = int(str(options["crm_throttle_status"]))
    try:
        config = SandboxConfig(**options)  # type: ignore[arg-type]
        asyncio.run(serve(config))
    except UsageError as e:
        fail("sandbox", e)
    except OSError as e:
        say(f"zmigrate sandbox: cannot listen ({e}); try another --port", err=True)
        raise SystemExit(2) from None


# ---- init (a first manifest from the files, issue 18) ---------------------------------------


@main.command("init")
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--schema", default=None, type=click.Path(dir_okay=False), help="The org's snapshot.")
@click.option("--out", default="plans/migration.toml", show_default=True, help="Manifest to write.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def init_command(sources: tuple[str, ...], schema: str | None, out: str, force: bool) -> None:
    """Write a commented manifest for SOURCES (CSV, JSONL, book.xlsx[:Sheet],
    backup.zip[:member], sql:$VAR:TABLE or sql:$VAR:'SELECT ... ORDER BY key'), guessed from
    their values and the org's schema (--schema, else the built-in default). Sends nothing.
    Exit 2: bad input or --out exists."""
    from zmigrate.init import init

    try:
        written = init(sources, out, schema, force)
    except ZmigrateError as e:
        fail("init", e)
    except OSError as e:
        fail("init", UsageError(f"cannot write {out}: {e.strerror}"))
    fixes = written.draft.fixes()
    steps = ", ".join(f"{s.name} -> {s.target}" for s in written.draft.steps)
    say(f"wrote {written.path}: {steps}")
    for fix in fixes:
        say(f"  {fix}")
    if written.refusal:
        say(f"zmigrate plan would say now: {written.refusal}")
    say(
        f"{len(fixes)} to fix in {written.path} first; then: zmigrate plan {written.path}"
        if fixes
        else f"read its CHECK comments, then: zmigrate plan {written.path}"
    )


# ---- plan (the quota bill, issue 4) --------------------------------------------------------


@main.command("plan")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (schema in README).")
def plan_command(manifest: str, as_json: bool) -> None:
    """What MANIFEST will cost in requests, credits, time and days. No network call."""
    from zmigrate import plan_view, planner
    from zmigrate.errors import UsageError
    from zmigrate.manifest import load_manifest

    try:
        bill = planner.plan(load_manifest(manifest))
    except UsageError as e:
        fail("plan", e)
    say(bill.to_json() if as_json else plan_view.render(bill))


# ---- run (zmigrate.run, issue 5) --------------------------------------------------------------


@main.command("run")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the run keeps its state, dead letters and report [default: runs/NAME-TIME].",
)
@click.option(
    "--sandbox", "use_sandbox", is_flag=True, help="Rehearse against an embedded local Zoho."
)
@click.option("--dry-run", is_flag=True, help="Print the plan (as `zmigrate plan`); send nothing.")
@click.option(
    "--clock-speed",
    type=float,
    default=None,
    help="Zoho seconds per real second (quotas and waits shrink alike): the embedded "
    "sandbox's (default 60), or that of a sandbox reached through ZOHO_*_URL. Zoho: 1.",
)
@click.option(
    "--fault-rate",
    type=float,
    default=None,
    help="With --sandbox (refused without): share of calls meeting a fault (500, reset, "
    "slow answer) [default: 0].",
)
def run_command(
    manifest: str,
    run_dir: str | None,
    use_sandbox: bool,
    dry_run: bool,
    clock_speed: float | None,
    fault_rate: float | None,
) -> None:
    """Migrate as MANIFEST says, exactly once, as fast as Zoho's quotas allow.

    Exit codes: 0 done; 1 some records refused (see the dead-letter file) or the run
    stopped on an error; 2 bad manifest, credentials or usage; 3 paused on a quota that
    resets later; 130 interrupted. 3 and 130 resume with `zmigrate resume RUN_DIR`.
    """
    import time

    from zmigrate import plan_view, planner, rehearsal, run
    from zmigrate.clock import Clock
    from zmigrate.errors import UsageError
    from zmigrate.manifest import load_manifest

    target = run_dir or str(run.default_run_dir(manifest, time.time()))
    try:
        if fault_rate is not None and not use_sandbox:
            raise UsageError(
                "--fault-rate only applies to a rehearsal (it makes the embedded sandbox fail "
                "on purpose); add --sandbox, or drop --fault-rate to run against Zoho"
            )
        if dry_run:
            say(plan_view.render(planner.plan(load_manifest(manifest))))
            return
        if use_sandbox:
            report = run.run_interruptible(
                lambda interrupt: rehearsal.execute_in_sandbox(
                    manifest,
                    target,
                    clock_speed=clock_speed or rehearsal.REHEARSAL_SPEED,
                    fault_rate=fault_rate or 0.0,
                    interrupt=interrupt,
                )
            )
        else:
            credentials = run.zoho_credentials(manifest, os.environ)
            report = run.run_interruptible(
                lambda interrupt: run.execute(
                    manifest, target, credentials, Clock(clock_speed or 1.0), interrupt=interrupt
                )
            )
    except ZmigrateError as e:
        fail("run", e)
    except OSError as e:
        fail("run", os_failure(e, target))
    say(report.render())
    raise SystemExit(report.exit_code)


# ---- schema pull (the org's schema, issue 11) -----------------------------------------------


@main.group("schema")
def schema_group() -> None:
    """The org's schema: modules, fields, users, taxes, currencies, locations."""


@schema_group.command("pull")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default="schema.json",
    show_default=True,
    help="Where to write the snapshot (JSON, format zmigrate.schema/1).",
)
@click.option("--dry-run", is_flag=True, help="Print what the pull costs; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (bill, spent).")
@click.option(
    "--products",
    default=None,
    help="Comma-separated: crm, books, inventory [default: crm, plus books and inventory "
    "when ZOHO_ORGANIZATION_ID is set].",
)
def schema_pull_command(out: str, dry_run: bool, as_json: bool, products: str | None) -> None:
    """Read the org's schema with the ZOHO_* credentials (as `run`) into a snapshot file.

    Says the cost first: CRM 1 credit per metadata GET (1 to list the modules, 1 per
    module, 1 per 200 users); Books 3 and Inventory 4 requests. Exit codes: 0 written (or
    --dry-run); 1 Zoho refused or failed; 2 bad credentials, options or --out; 3 the CRM
    credits or a daily cap are spent (pull again after the reset).
    """
    from pathlib import Path

    import orjson

    from zmigrate import schema_pull
    from zmigrate.auth import Credentials
    from zmigrate.clock import Clock

    def bill_said(bill: schema_pull.Bill) -> None:
        """The whole bill first; the CRM line again, exact, once the modules are listed."""
        if not as_json:
            lines = bill.lines() if bill.modules is None else [bill.crm_line()]
            for line in lines:
                say(f"cost: {line}")

    def progress(line: str) -> None:
        if not as_json:
            say(f"zmigrate schema pull: {line}", err=True)

    try:
        if dry_run:
            org = os.environ.get("ZOHO_ORGANIZATION_ID", "").strip() or None
            bill = schema_pull.Bill(schema_pull.choose_parts(products, org))
            if as_json:
                say(orjson.dumps({"dry_run": True, "bill": bill.as_dict()}).decode())
            else:
                bill_said(bill)
                say("dry run: nothing sent")
            return
        credentials = Credentials.from_env(os.environ)
        parts = schema_pull.choose_parts(products, credentials.organization_id)
        pulled = schema_pull.execute(credentials, parts, Path(out), Clock(), bill_said, progress)
    except ZmigrateError as e:
        fail("schema pull", e)
    if as_json:
        say(orjson.dumps(pulled.as_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    spent = "; ".join(
        f"{part}: {', '.join(f'{v} {k}' for k, v in figures.items())}"
        for part, figures in pulled.spent.items()
    )
    held = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in pulled.counts.items())
    say(f"wrote {pulled.out}: {held}")
    say(f"spent: {spent}")
