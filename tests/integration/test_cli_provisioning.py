"""`onboard environments` and `onboard groups` on each backend (SPEC P2, D1, D2, §5): the
operator defines environments and marks them up or down; groups are created with their
secret printed once, listed, shown without it, rotated and finished; `derive-keys` writes
group_id,serial,device_key for a list of serials in constant memory, or, when a line is
not a serial, lists every such line and writes nothing. Errors exit non-zero with a
message and change nothing."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import stat
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select

from onboard.adapters.db import tables as t
from onboard.domain.errors import InvalidSignature
from onboard.domain.provisioning import check_activation, group_secret_context
from onboard.services import licensing
from onboard.services.ports import Services
from onboard.services.provisioning import environments, groups
from onboard.services.provisioning.groups import group_secrets
from tests.conftest import Database
from tests.factories import Org, make_org

Run = Callable[..., Result]
KEYS_HEADER = ["group_id", "serial", "device_key"]


def own_device_key(secret: str, serial: str) -> str:
    """D2 by the test's own HMAC code, not the project's."""
    digest = hmac.new(base64.b64decode(secret), serial.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def printed_secret(result: Result) -> str:
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("secret: ")]
    return line.removeprefix("secret: ")


def environment(run: Run, name: str, *extra: str) -> Result:
    return run(
        "environments", "create", name, "--api-url", f"https://{name}.example.com",
        "--mqtt-url", f"mqtts://{name}.example.com:8883", *extra,
    )  # fmt: skip


def count_groups(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.provisioning_groups)).scalar())


def activates(svc: Services, org: Org, group_id: str, secret: str, serial: str) -> bool:
    """§6: whether a device with the key of ``secret`` passes the group's check."""
    expires = int(time.time()) + 300
    key = own_device_key(secret, serial).encode()
    message = f"{group_id}\n{serial}\n{expires}".encode()
    signature = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    group = groups.find_group_now(svc, org.actor, group_id)
    with svc.uow(read_only=True) as uow:
        held = group_secrets(svc, group, uow)
    try:
        check_activation(held, group_id, serial, expires, signature)
    except InvalidSignature:
        return False
    return True


# --- environments (P2) ---------------------------------------------------------------


def test_the_operator_creates_lists_and_marks_environments(run: Run, svc: Services) -> None:
    made = environment(run, "eu-1", "--region", "Frankfurt", "--weight", "3")
    down = environment(run, "us-1", "--down")

    assert made.exit_code == 0, made.output
    assert made.stdout.strip() == "environment eu-1 created (up, weight 3)"
    assert down.stdout.strip() == "environment us-1 created (down, weight 1)"
    listed = run("environments", "list")
    assert listed.exit_code == 0
    # Environments are the platform's: the browser tests' live server leaves its own.
    header, *rows = listed.stdout.splitlines()
    first, second = [r for r in rows if r.split()[0] in {"eu-1", "us-1"}]
    assert header.split() == ["NAME", "REGION", "STATUS", "WEIGHT", "API_URL", "MQTT_URL"]
    assert first.split() == [
        "eu-1", "Frankfurt", "up", "3", "https://eu-1.example.com", "mqtts://eu-1.example.com:8883",
    ]  # fmt: skip
    assert second.split()[:4] == ["us-1", "-", "down", "1"]

    marked = run("environments", "set-status", "eu-1", "down")
    back = run("environments", "set-status", "us-1", "UP")

    assert (marked.exit_code, marked.stdout.strip()) == (0, "environment eu-1 is down")
    assert (back.exit_code, back.stdout.strip()) == (0, "environment us-1 is up")
    ups = {e.name: e.up for e in environments.list_environments(svc)}
    assert (ups["eu-1"], ups["us-1"]) == (False, True)


def test_bad_environments_are_refused_with_a_message_and_nothing_changes(
    run: Run, svc: Services
) -> None:
    environment(run, "eu-1")

    taken = environment(run, "eu-1")
    bad_url = run(
        "environments", "create", "eu-2", "--api-url", "ftp://x", "--mqtt-url", "mqtt://x"
    )
    bad_name = environment(run, "no spaces allowed")
    bad_weight = environment(run, "eu-3", "--weight", "5000")
    unknown = run("environments", "set-status", "nowhere", "down")
    bad_status = run("environments", "set-status", "eu-1", "sideways")

    assert (taken.exit_code, taken.stdout) == (1, "")
    assert "exists already" in taken.stderr
    assert bad_url.exit_code == 2
    assert "api_url" in bad_url.stderr
    assert bad_name.exit_code == 2
    assert "name" in bad_name.stderr
    assert bad_weight.exit_code == 2
    assert (unknown.exit_code, unknown.stderr.strip()) == (1, "error: No environment 'nowhere'.")
    assert bad_status.exit_code == 2
    assert [(e.name, e.up) for e in environments.list_environments(svc)] == [("eu-1", True)]


def test_no_environments_says_how_to_make_one(run: Run) -> None:
    result = run("environments", "list")
    assert result.exit_code == 0
    assert "onboard environments create" in result.stdout


# --- groups (D1) ----------------------------------------------------------------------


def test_a_group_is_created_with_its_secret_printed_once_and_stored_sealed(
    run: Run, svc: Services, org: Org, database: Database
) -> None:
    """D1: the creation prints the settings and the secret with a line saying to store it
    now; the stored value is not the secret but opens to it; list and show never print it."""
    environment(run, "eu-1")
    environment(run, "us-1")
    partner = make_org(svc)

    made = run(
        "groups", "create", "--org", org.organization.name, "acme-meters", "--name", "Acme meters",
        "--mode", "open", "--allocation", "hashed", "--reprovision", "reset",
        "--environment", "us-1", "--environment", "eu-1", "--attributes", '{"site": "Hall 2"}',
        "--configuration", '{"interval": 60}', "--claimant", partner.organization.name,
    )  # fmt: skip

    assert made.exit_code == 0, made.output
    secret = printed_secret(made)
    assert len(base64.b64decode(secret, validate=True)) == 32
    assert "Store both secrets now" in made.stderr
    assert "secondary_secret:" in made.stdout
    assert "shown this once" in made.stderr
    lines = dict(line.split(":", 1) for line in made.stdout.splitlines())
    assert lines["group_id"].strip() == "acme-meters"
    assert lines["mode"].strip() == "open"
    assert lines["allocation"].strip() == "hashed"
    assert lines["reprovision"].strip() == "reset"
    assert lines["environments"].strip() == "us-1, eu-1"
    assert lines["attributes"].strip() == '{"site": "Hall 2"}'
    assert partner.organization.id in lines["claimed by"]
    group = groups.find_group_now(svc, org.actor, "acme-meters")
    with svc.uow(read_only=True) as uow:
        sealed, _ = uow.provisioning_groups.sealed_secrets(group.id)
    assert secret not in sealed
    assert svc.secrets.open(sealed, context=group_secret_context(group.id)) == secret
    assert group.defaults.configuration == {"interval": 60}
    assert group.claimants == {partner.organization.id}

    listed = run("groups", "list", "--org", org.organization.id)
    shown = run("groups", "show", "--org", org.organization.id, "acme-meters")
    by_id = run("groups", "show", "--org", org.organization.id, group.id)

    assert listed.exit_code == shown.exit_code == by_id.exit_code == 0
    header, row = listed.stdout.splitlines()
    assert header.split()[:2] == ["GROUP_ID", "NAME"]
    assert row.split() == [
        "acme-meters", "Acme", "meters", "open", "hashed", "reset", "yes", "us-1,eu-1",
    ]  # fmt: skip
    assert shown.stdout == by_id.stdout
    assert "acme-meters" in shown.stdout
    for output in (listed.output, shown.output, by_id.output):
        assert secret not in output
        assert "secret:" not in output


def test_a_group_takes_a_named_configuration(run: Run, svc: Services, org: Org) -> None:
    """§5.1 Part D `configuration_id`, B8: its body is the group's configuration."""
    product = licensing.create_product(svc, org.actor, name="Meter firmware")
    named = licensing.create_configuration(
        svc, org.actor, product.id, name="Rollout 3", body={"interval": 30}
    )

    made = run(
        "groups", "create", "--org", org.organization.id, "named-meters", "--name", "Meters",
        "--configuration-id", named.id,
    )  # fmt: skip

    assert made.exit_code == 0, made.output
    lines = dict(line.split(":", 1) for line in made.stdout.splitlines())
    assert lines["configuration"].strip() == '{"interval": 30}'
    assert lines["named config"].strip() == named.id
    group = groups.find_group_now(svc, org.actor, "named-meters")
    assert group.defaults.configuration_id == named.id


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["Bad_Id", "--name", "X"], "group id has 3 to 64"),
        (["ok-id", "--name", "X", "--environment", "nowhere"], "No environment 'nowhere'"),
        (["ok-id", "--name", "X", "--template", "nope"], "No template 'nope'"),
        (["ok-id", "--name", "X", "--department", "nope"], "Unknown department"),
        (["ok-id", "--name", "X", "--attributes", "{not json"], "--attributes is not JSON"),
        (["ok-id", "--name", "X", "--configuration", "[1, 2]"], "--configuration is a JSON object"),
        (["ok-id", "--name", "X", "--claimant", "no such org"], "--claimant: no organization"),
        (["ok-id", "--name", "X", "--configuration-id", "nope"], "No configuration 'nope'"),
        (["ok-id", "--name", "X", "--mode", "closed"], "closed"),
    ],
)
def test_bad_group_settings_exit_2_with_a_message_and_make_nothing(
    run: Run, org: Org, database: Database, arguments: list[str], message: str
) -> None:
    result = run("groups", "create", "--org", org.organization.id, *arguments)

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "secret" not in result.stdout
    assert count_groups(database) == 0


def test_a_taken_group_id_or_an_unknown_organization_exits_1_and_makes_nothing(
    run: Run, org: Org, database: Database
) -> None:
    run("groups", "create", "--org", org.organization.id, "taken-id", "--name", "First")

    taken = run("groups", "create", "--org", org.organization.id, "taken-id", "--name", "Again")
    nowhere = run("groups", "create", "--org", "no such org", "other-id", "--name", "X")
    unknown = run("groups", "show", "--org", org.organization.id, "missing-group")

    assert (taken.exit_code, taken.stdout) == (1, "")
    assert "taken" in taken.stderr
    assert nowhere.exit_code == 1
    assert "No organization" in nowhere.stderr
    assert unknown.exit_code == 1
    assert "No provisioning group 'missing-group'" in unknown.stderr
    assert count_groups(database) == 1


def test_rotating_prints_the_new_secret_once_and_the_old_one_activates_until_finished(
    run: Run, svc: Services, org: Org
) -> None:
    """D1: after rotate-secret the new secret and the previous one both activate; after
    finish-rotation only the new one does."""
    created = run("groups", "create", "--org", org.organization.id, "rotor", "--name", "Rotor")
    old = printed_secret(created)

    rotated = run("groups", "rotate-secret", "--org", org.organization.id, "rotor")

    assert rotated.exit_code == 0, rotated.output
    new = printed_secret(rotated)
    assert new != old
    assert "shown this once" in rotated.stderr
    assert "onboard groups finish-rotation" in rotated.stderr
    assert activates(svc, org, "rotor", old, "SN-1")
    assert activates(svc, org, "rotor", new, "SN-1")
    shown = run("groups", "show", "--org", org.organization.id, "rotor").stdout
    assert "a secret is held" in shown

    finished = run("groups", "finish-rotation", "--org", org.organization.id, "rotor")
    again = run("groups", "finish-rotation", "--org", org.organization.id, "rotor")

    assert finished.exit_code == 0
    assert "previous secret no longer activates" in finished.stdout
    assert "nothing changed" in again.stdout
    assert not activates(svc, org, "rotor", old, "SN-1")
    assert activates(svc, org, "rotor", new, "SN-1")


# --- derive-keys (D2) -----------------------------------------------------------------


def make_group(run: Run, org: Org, group_id: str = "keys") -> str:
    created = run("groups", "create", "--org", org.organization.id, group_id, "--name", "Keys")
    assert created.exit_code == 0, created.output
    return printed_secret(created)


def test_derive_keys_writes_group_id_serial_and_device_key_for_each_serial(
    run: Run, org: Org, tmp_path: Path
) -> None:
    """D2 checked with the test's own HMAC: one row a serial in the list's order, blank
    lines skipped, a byte-order mark and CRLF line ends read as a spreadsheet writes them."""
    secret = make_group(run, org)
    serials = tmp_path / "serials.txt"
    serials.write_bytes("\ufeffSN-0001\r\n\r\n  SN-0002 \r\nSÉRIE-3\n\n".encode())

    to_stdout = run(
        "groups", "derive-keys", "--org", org.organization.id, "--group", "keys", str(serials)
    )

    assert to_stdout.exit_code == 0, to_stdout.output
    rows = list(csv.reader(io.StringIO(to_stdout.stdout)))
    assert rows[0] == KEYS_HEADER
    assert rows[1:] == [
        ["keys", serial, own_device_key(secret, serial)]
        for serial in ("SN-0001", "SN-0002", "SÉRIE-3")
    ]
    assert "3 device key(s) written" in to_stdout.stderr

    target = tmp_path / "keys.csv"
    to_file = run(
        "groups", "derive-keys", "--org", org.organization.id, "--group", "keys", str(serials),
        "--output", str(target),
    )  # fmt: skip
    assert to_file.exit_code == 0, to_file.output
    assert to_file.stdout == ""
    with target.open(newline="", encoding="utf-8") as written:
        assert list(csv.reader(written)) == rows
    assert stat.S_IMODE(target.stat().st_mode) == 0o600, "device keys are secrets"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".keys")) == []


def test_derive_keys_lists_every_invalid_serial_with_its_line_and_writes_nothing(
    run: Run, org: Org, tmp_path: Path
) -> None:
    make_group(run, org)
    serials = tmp_path / "serials.txt"
    serials.write_bytes(b"GOOD-1\nhas space\n\nGOOD-2\n" + b"x" * 101 + b"\nbad\xffbyte\n")
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "keys.csv"

    to_stdout = run(
        "groups", "derive-keys", "--org", org.organization.id, "--group", "keys", str(serials)
    )
    to_file = run(
        "groups", "derive-keys", "--org", org.organization.id, "--group", "keys", str(serials),
        "-o", str(target),
    )  # fmt: skip

    for result in (to_stdout, to_file):
        assert result.exit_code == 2
        assert result.stdout == ""
        told = [line for line in result.stderr.splitlines() if line.startswith("line ")]
        assert [line.split(":")[0] for line in told] == ["line 2", "line 5", "line 6"]
        assert "'has space'" in told[0]
        assert "\\xff" in told[2]
        assert "3 of 5 serial(s) are not valid; no key was derived" in result.stderr
    assert list(folder.iterdir()) == [], "no file, not even a partial one"


def test_derive_keys_refuses_an_unknown_group_a_missing_file_and_another_organizations_group(
    run: Run, svc: Services, org: Org, tmp_path: Path
) -> None:
    other = make_org(svc)
    make_group(run, other, "theirs")
    serials = tmp_path / "serials.txt"
    serials.write_text("SN-1\n")
    target = tmp_path / "keys.csv"

    for group in ("nope", "theirs"):
        refused = run(
            "groups", "derive-keys", "--org", org.organization.id, "--group", group,
            str(serials), "-o", str(target),
        )  # fmt: skip
        assert refused.exit_code == 1
        assert f"No provisioning group '{group}'" in refused.stderr
    missing = run(
        "groups", "derive-keys", "--org", org.organization.id, "--group", "theirs",
        str(tmp_path / "missing.txt"),
    )  # fmt: skip
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    nothing = run(
        "groups", "derive-keys", "--org", other.organization.id, "--group", "theirs",
        str(empty), "-o", str(target),
    )  # fmt: skip

    assert missing.exit_code == 2
    assert (nothing.exit_code, "no serial" in nothing.stderr) == (2, True)
    assert not target.exists()


def test_derive_keys_streams_a_long_list_in_constant_memory(
    run: Run, org: Org, tmp_path: Path
) -> None:
    """D2, §7: 100,000 serials (about 9 MB of keys written) with a peak of traced
    memory far below what holding the list or the keys would take."""
    secret = make_group(run, org)
    serials = tmp_path / "serials.txt"
    count = 100_000
    with serials.open("w") as out:
        out.writelines(f"SN-{n:08d}\n" for n in range(count))
    target = tmp_path / "keys.csv"

    tracemalloc.start()
    try:
        result = run(
            "groups", "derive-keys", "--org", org.organization.id, "--group", "keys",
            str(serials), "--output", str(target),
        )  # fmt: skip
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.exit_code == 0, result.output
    assert peak < 4_000_000, f"peak {peak:,} bytes"
    with target.open(newline="") as written:
        reader = csv.reader(written)
        assert next(reader) == KEYS_HEADER
        rows = sum(1 for _ in reader)
    assert rows == count
    with target.open(newline="") as written:
        last = written.readlines()[-1].strip().split(",")
    assert last == ["keys", f"SN-{count - 1:08d}", own_device_key(secret, f"SN-{count - 1:08d}")]
