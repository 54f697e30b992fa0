"""The rehearsal's sandbox serves from its own thread and event loop, on the run's clock."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest
from fixed_time import T0

from zmigrate.clock import Clock
from zmigrate.errors import UsageError
from zmigrate.rehearsal import sandbox_in_thread
from zmigrate.sandbox import SandboxConfig


async def test_the_sandbox_answers_while_the_engine_loop_is_held(tmp_path) -> None:
    """A blocking call from the engine's thread holds the engine's loop: a sandbox on that
    loop could never answer it; the rehearsal's answers, on the clock they share."""
    clock = Clock(60, start=T0)
    config = SandboxConfig(clock_speed=60, state_dir=str(tmp_path / "sandbox"))
    async with sandbox_in_thread(config, clock) as sb:
        assert sb.clock is clock
        c = sb.credentials
        form = {
            "grant_type": "refresh_token",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "refresh_token": c.refresh_token,
        }
        request = urllib.request.Request(
            sb.urls["accounts"] + "/oauth/v2/token", urllib.parse.urlencode(form).encode()
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # blocks this loop
            assert json.loads(answer.read())["access_token"]
    assert (tmp_path / "sandbox").exists()


async def test_a_sandbox_that_cannot_start_raises_in_the_engine(tmp_path) -> None:
    (tmp_path / "sandbox-state.json").write_text("{}")
    config = SandboxConfig(clock_speed=60, state_dir=str(tmp_path))
    with pytest.raises(UsageError, match="cannot read"):
        async with sandbox_in_thread(config, Clock(60, start=T0)):
            pass
