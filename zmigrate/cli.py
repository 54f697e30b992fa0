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
