"""``zmigrate sandbox`` in a process of its own, for tests and benchmarks that need the engine
and the sandbox apart (a crash test kills the engine; a benchmark measures it alone)::

    with start_sandbox_process("--clock-speed", "600") as sb:
        subprocess.run(["zmigrate", "run", "m.toml"], env=sb.env(os.environ))
        print(sb.admin("state")["requests"])
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from zmigrate.auth import Credentials

ZMIGRATE = [sys.executable, "-c", "from zmigrate.cli import main; main()"]
"""The CLI of this interpreter's zmigrate (no reliance on a script on PATH)."""


@dataclass
class SandboxProcess:
    """A running ``zmigrate sandbox``: its process and what its ready line said."""

    proc: subprocess.Popen[str]
    urls: dict[str, str]
    credentials: dict[str, Any]
    """client_id, client_secret, refresh_token, organization_id, data_center, ..."""

    def zoho_credentials(self) -> Credentials:
        """Credentials reaching this sandbox (its URLs override the data center's)."""
        c = self.credentials
        return Credentials(
            c["client_id"],
            c["client_secret"],
            c["refresh_token"],
            dc=c["data_center"],
            organization_id=c["organization_id"],
            accounts_url=self.urls["accounts"],
            api_url=self.urls["api"],
            content_url=self.urls["content"],
        )

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` without its ``ZOHO_*`` variables, plus those reaching this sandbox."""
        c = self.credentials
        env = {k: v for k, v in base.items() if not k.startswith("ZOHO_")}
        env.update(
            ZOHO_CLIENT_ID=c["client_id"],
            ZOHO_CLIENT_SECRET=c["client_secret"],
            ZOHO_REFRESH_TOKEN=c["refresh_token"],
            ZOHO_ORGANIZATION_ID=c["organization_id"],
            ZOHO_DC=c["data_center"],
            ZOHO_ACCOUNTS_URL=self.urls["accounts"],
            ZOHO_API_URL=self.urls["api"],
            ZOHO_CONTENT_URL=self.urls["content"],
        )
        return env

    def admin(self, path: str) -> Any:
        """GET ``/__sandbox__/{path}`` (state, clock, faults, ...), decoded."""
        url = self.urls["api"] + "/__sandbox__/" + path
        with urllib.request.urlopen(url, timeout=30) as resp:
            return json.loads(resp.read())

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the sandbox saves its state on the way out), then SIGKILL if it hangs."""
        stop_process(self.proc, timeout)

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_process(proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """SIGTERM, wait ``timeout`` real seconds, then SIGKILL."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def start_sandbox_process(
    *options: str,
    stderr: IO[str] | None = None,
    env: Mapping[str, str] | None = None,
    ready_within: float = 60.0,
) -> SandboxProcess:
    """Start ``zmigrate sandbox --port 0 OPTIONS`` and wait for its ready line.

    Raises RuntimeError (the process stopped) if it says nothing within ``ready_within``
    real seconds; ``stderr`` receives its log (default: inherited); ``env`` is its
    environment (default: inherited).
    """
    proc = subprocess.Popen(
        [*ZMIGRATE, "sandbox", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=None if env is None else dict(env),
        text=True,
    )
    assert proc.stdout is not None
    readable, _, _ = select.select([proc.stdout], [], [], ready_within)
    line = proc.stdout.readline() if readable else ""
    if not line:
        stop_process(proc)
        raise RuntimeError(f"the sandbox did not say it was ready within {ready_within:.0f} s")
    ready = json.loads(line)
    return SandboxProcess(proc, dict(ready["urls"]), dict(ready["credentials"]))
