"""Schemathesis over the OpenAPI document with a valid token: no server error and no
response outside its schema, over at least 2,000 generated cases (RELIABILITY.md)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]
# Operations that would end the fuzzer's own session; each has its own tests. (The fuzzer
# finds its own user id in responses: eraseUser once erased it, and every later request of
# the run was a 401.)
SESSION_ENDING = ["logout", "deleteUser", "eraseUser", "changePassword", "suspendUser"]
MIN_CASES = 2000


def only_refused(output: str) -> list[str]:
    """The operations schemathesis lists as having answered only 401/403."""
    section = output.partition("Authentication failed:")[2].partition("💡")[0]
    return [line.strip()[2:] for line in section.splitlines() if line.strip().startswith("- ")]


def is_refused_to_a_member(operation: str) -> bool:
    """The audit API (auditors and admins), disabling 2FA with a wrong code (403), and the
    second step of a login with a made-up MFA token (401)."""
    path = operation.partition(" ")[2]
    return path.startswith("/api/v1/audit/") or operation in {
        "POST /api/v1/users/2fa/disable",
        "POST /api/v1/users/login/2fa",
    }


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    conninfo = create_database()
    env = {"DATABASE_URL": conninfo, "FISCAFLOW_RATE_LIMIT": "0"}
    server = Server(env, tmp_path_factory.mktemp("fuzz") / "server.log")
    try:
        yield server
    finally:
        server.stop()
        drop_database(conninfo)


def test_no_server_error_and_no_schema_violation(fuzzed: Server, tmp_path: Path) -> None:
    member = sign_up(fuzzed.url, "Fuzzer")
    member.client.post("/api/v1/accounts", json={"name": "Checking", "currency": "EUR"})
    member.client.close()
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    command = [
        cli, "run", f"{fuzzed.url}/schema/openapi.json",
        "-H", f"Authorization: Bearer {member.access_token}",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--max-examples", os.environ.get("FISCAFLOW_FUZZ_EXAMPLES", "40"),
        "--seed", os.environ.get("FISCAFLOW_FUZZ_SEED", "20261129"),
        "--workers", "1",  # CPython 3.11.7 can crash in ast.parse under threads
    ] + [arg for operation in SESSION_ENDING for arg in ("--exclude-operation-id", operation)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    output = result.stdout + result.stderr
    (tmp_path / "schemathesis.txt").write_text(output)
    generated = re.search(r"(\d+) generated", output)
    assert generated, output[-3000:]
    assert int(generated.group(1)) >= MIN_CASES, output[-3000:]
    assert result.returncode == 0, output[-6000:]
    assert "Traceback" not in fuzzed.log_path.read_text()
    # The cases reach the handlers: the fuzzer kept its session (when it lost it, 79
    # operations answered only 401). Only those that must refuse a member may answer only
    # 401/403 (which of them do depends on the generated cases).
    refused = only_refused(output)
    assert all(is_refused_to_a_member(operation) for operation in refused), refused
