"""The `zmigrate` command line: thin click wrappers around the modules that do the work.

Exit codes: 0 done; 1 finished with failed records; 2 bad manifest or usage; 3 paused on a
quota that resets later; 130 interrupted.
"""

from __future__ import annotations

import click

from zmigrate import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zmigrate")
def main() -> None:
    """Move data into and out of Zoho CRM, Books and Inventory, exactly once."""


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
        click.echo(f"zmigrate status: {e}", err=True)
        raise SystemExit(e.exit_code) from None
    if as_json:
        click.echo(orjson.dumps(status.as_json(summary), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(status.render(summary))
