"""Bad inputs and hostile conditions end in one clear line (what, where, what to do), the
documented exit code, no traceback and no stray file; or, for one bad row, a dead letter.

Runs go through the real ``zmigrate`` process against a sandbox on 127.0.0.1. A full disk is
a real one: a tiny tmpfs mounted for the test (the suite runs as root, as CI does).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
from migration_helpers import records, write_migration

from zmigrate.clock import Clock
from zmigrate.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
ZMIGRATE = str(Path(sys.executable).parent / "zmigrate")
START = 1_767_268_800.0  # 2026-01-01 12:00 UTC: no daily reset falls inside a test
SPEED = 60.0


def sandbox_env(sb: Sandbox | None, *, organization: bool = True) -> dict[str, str]:
    """The environment of a run against ``sb`` (none: no Zoho variables at all)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    if sb is None:
        return env
    c = sb.credentials
    env |= {
        "ZOHO_CLIENT_ID": c.client_id,
        "ZOHO_CLIENT_SECRET": c.client_secret,
        "ZOHO_REFRESH_TOKEN": c.refresh_token,
        "ZOHO_ACCOUNTS_URL": sb.urls["accounts"],
        "ZOHO_API_URL": sb.urls["api"],
        "ZOHO_CONTENT_URL": sb.urls["content"],
    }
    if organization:
        env["ZOHO_ORGANIZATION_ID"] = c.organization_id
    return env


async def zmigrate(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        ZMIGRATE, *args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


def one_clear_line(err: str, *words: str) -> str:
    """The one error line in ``err`` (progress lines aside), holding every word; no traceback."""
    assert "Traceback" not in err and "never retrieved" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("zmigrate ")]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


CRM_AND_BOOKS = """
[target]
crm_edition = "enterprise"
books_plan = "standard"

[[steps]]
name = "accounts"
source = { file = "accounts.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["ref"]
method = "rest"
[steps.fields]
Account_Name = "name"
Description = "note"

[[steps]]
name = "customers"
source = { file = "accounts.csv" }
target = "books:contacts"
key = ["contact_name"]
source_key = ["ref"]
[steps.fields]
contact_name = "name"
"""


def write_crm_and_books(folder: Path, rows: int = 3, note: str = "short") -> None:
    (folder / "migration.toml").write_text(CRM_AND_BOOKS)
    lines = [
        "ref,name,note",
        *(f"r{i},Company {i},{note if i == 1 else 'ok'}" for i in range(rows)),
    ]
    (folder / "accounts.csv").write_text("\n".join(lines) + "\n")


async def test_fault_rate_without_sandbox_is_refused_before_anything(tmp_path, make_sandbox):
    sb = await make_sandbox(clock=Clock(SPEED, start=START))
    write_crm_and_books(tmp_path)
    run_dir = tmp_path / "run"
    code, out, err = await zmigrate(
        "run", "migration.toml", "--fault-rate", "0.2", "--run-dir", str(run_dir),
        "--clock-speed", str(SPEED), cwd=tmp_path, env=sandbox_env(sb),
    )  # fmt: skip
    assert code == 2, out + err
    one_clear_line(err, "--fault-rate", "--sandbox")
    assert not run_dir.exists()
    assert await records(sb, "crm", "Accounts") == []


async def test_missing_organization_id_is_refused_before_any_call(tmp_path, make_sandbox):
    sb = await make_sandbox(clock=Clock(SPEED, start=START))
    write_crm_and_books(tmp_path)
    run_dir = tmp_path / "run"
    code, out, err = await zmigrate(
        "run", "migration.toml", "--run-dir", str(run_dir), "--clock-speed", str(SPEED),
        cwd=tmp_path, env=sandbox_env(sb, organization=False),
    )  # fmt: skip
    assert code == 2, out + err
    one_clear_line(err, "organization_id", "ZOHO_ORGANIZATION_ID", "books")
    assert not run_dir.exists()
    assert await records(sb, "crm", "Accounts") == []  # no CRM call went out first


async def test_a_cell_over_the_csv_field_limit_is_one_dead_letter_for_its_row(tmp_path):
    write_crm_and_books(tmp_path, note="n" * (1 << 20))  # a 1 MB note on line 3
    code, out, err = await zmigrate("plan", "migration.toml", cwd=tmp_path, env=sandbox_env(None))
    assert code == 0, err
    run_dir = tmp_path / "run"
    code, out, err = await zmigrate(
        "run", "migration.toml", "--sandbox", "--run-dir", str(run_dir),
        cwd=tmp_path, env=sandbox_env(None),
    )  # fmt: skip
    assert code == 1, out + err
    assert "Traceback" not in err
    dead = [
        orjson.loads(line) for line in (run_dir / "dead_letters.jsonl").read_bytes().splitlines()
    ]
    assert [(d["step"], d["line"], d["key"]) for d in dead] == [("accounts", 3, "r1")]
    assert "Description" in dead[0]["message"] and "at most 32000" in dead[0]["message"]
    report = orjson.loads((run_dir / "report.json").read_bytes())
    assert {s["name"]: s["landed"] for s in report["steps"]} == {"accounts": 2, "customers": 3}


async def test_a_latin1_jsonl_file_names_the_encoding_option(tmp_path):
    (tmp_path / "items.jsonl").write_bytes(
        '{"sku": "S1", "name": "Plain"}\n{"sku": "S2", "name": "Crème brûlée"}\n'.encode("latin-1")
    )
    (tmp_path / "migration.toml").write_text(
        '[[steps]]\nname = "items"\nsource = { file = "items.jsonl" }\n'
        'target = "inventory:items"\nkey = ["sku"]\nsource_key = ["sku"]\n'
        '[steps.fields]\nsku = "sku"\nname = "name"\nrate = { const = "1" }\n'
    )
    code, out, err = await zmigrate("plan", "migration.toml", cwd=tmp_path, env=sandbox_env(None))
    assert code == 2, out + err
    line = one_clear_line(err, "items.jsonl:2", "encoding", "latin-1", "0xe8")
    assert "surrogates" not in line


def test_generate_never_overwrites_the_committed_sample_data_silently(tmp_path):
    plans = tmp_path / "plans"
    shutil.copytree(ROOT / "plans", plans, ignore=shutil.ignore_patterns("*.toml"))
    committed = {p.name: p.read_bytes() for p in (plans / "data").iterdir()}

    def generate(*args: str) -> subprocess.CompletedProcess[str]:
        script = [sys.executable, str(plans / "generate.py"), *args]
        return subprocess.run(script, capture_output=True, text=True, timeout=120)

    refused = generate("--scale", "10")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--out" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert {p.name: p.read_bytes() for p in (plans / "data").iterdir()} == committed
    bigger = generate("--scale", "2", "--out", str(tmp_path / "big"))
    assert bigger.returncode == 0, bigger.stderr
    assert len((tmp_path / "big" / "accounts.csv").read_bytes()) > len(committed["accounts.csv"])
    same = generate()  # the committed sizes and seed: the committed files, byte for byte
    assert same.returncode == 0, same.stderr
    assert {p.name: p.read_bytes() for p in (plans / "data").iterdir()} == committed


# ---- a full disk ------------------------------------------------------------------------------


@contextlib.contextmanager
def tiny_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (root only; the mount's own error says why not)."""
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(disk: Path, name: str = "ballast") -> None:
    """Write zeros until the disk is full."""
    with open(disk / name, "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(bytes(64 << 10))


async def test_a_full_disk_before_the_run_store_exists_is_one_line_and_no_stray_file(
    tmp_path, make_sandbox
):
    sb = await make_sandbox(clock=Clock(SPEED, start=START))
    write_crm_and_books(tmp_path)
    with tiny_disk(tmp_path / "disk", "256k") as disk:
        fill(disk)
        run_dir = disk / "run"
        code, out, err = await zmigrate(
            "run", "migration.toml", "--run-dir", str(run_dir), "--clock-speed", str(SPEED),
            cwd=tmp_path, env=sandbox_env(sb),
        )  # fmt: skip
        assert code == 2, out + err
        one_clear_line(err, "full", str(run_dir), "free space")
        assert not run_dir.exists() or list(run_dir.iterdir()) == []
    assert await records(sb, "crm", "Accounts") == []


async def test_a_disk_filling_up_mid_run_stops_cleanly_and_the_run_resumes(tmp_path, make_sandbox):
    sb = await make_sandbox(clock=Clock(SPEED, start=START))
    data = write_migration(tmp_path, scale=8)  # 80 accounts, 160 contacts, ... ~ 4 s at x60
    with tiny_disk(tmp_path / "disk", "8m") as disk:
        run_dir = disk / "run"
        env = sandbox_env(sb)
        run = asyncio.create_task(
            zmigrate(
                "run",
                "migration.toml",
                "--run-dir",
                str(run_dir),
                "--clock-speed",
                str(SPEED),
                cwd=tmp_path,
                env=env,
            )  # fmt: skip
        )
        while not (run_dir / "run.db").exists() and not run.done():
            await asyncio.sleep(0.05)
        fill(disk)  # the disk fills while the run is under way
        code, out, err = await run
        assert code == 2, out + err
        one_clear_line(err, "full", str(run_dir), "free space", "zmigrate resume")
        assert "Task exception" not in err
        (disk / "ballast").unlink()
        code, out, err = await zmigrate(
            "resume", str(run_dir), "--clock-speed", str(SPEED), cwd=tmp_path, env=env
        )
        assert code == 0, out + err
    stored = await records(sb, "crm", "Accounts")
    assert sorted(r["Account_Name"] for r in stored) == sorted(a["name"] for a in data["accounts"])
