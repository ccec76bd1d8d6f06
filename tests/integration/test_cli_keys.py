"""The `onboard keys` commands on each backend (SPEC C1, §7 security): `new` prints a key
entry the keyring accepts and says where it goes; `rotate` re-seals every access key under
the current key with a progress bar and a summary, re-seals nothing the second time, and
refuses with status 1, naming the key, when values are sealed under a key it lacks."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from onboard.adapters.keyring import Keyring
from onboard.bootstrap import Container
from onboard.services.ports import Services
from tests.conftest import Database
from tests.factories import make_org
from tests.sealing import K0, K1, K2, Keyed, enroll_many, keyed_services, opened, sealed

Run = Callable[..., Result]


@pytest.fixture
def keyed(database: Database, container: Container, tmp_path: Path) -> Iterator[Keyed]:
    yield from keyed_services(database, container, tmp_path)


def test_keys_new_prints_an_entry_the_keyring_takes_first_and_says_where_it_goes(
    run: Run, tmp_path: Path
) -> None:
    result = run("keys", "new", "k2")

    assert result.exit_code == 0, result.output
    entry = result.stdout.strip()
    assert "\n" not in entry
    key_id, _, encoded = entry.partition(":")
    assert key_id == "k2"
    assert len(base64.b64decode(encoded, validate=True)) == 32
    held = (tmp_path / "data_keys").read_text().strip()
    assert Keyring.parse(f"{entry},{held}").current_id == "k2"
    hint = result.stderr
    assert len(hint.strip().splitlines()) == 1
    assert "first in ONBOARD_DATA_KEYS on every server" in hint
    assert str(tmp_path / "data_keys") in hint
    assert "onboard keys rotate" in hint
    assert run("keys", "new", "k2").stdout.strip() != entry, "every key is new"


def test_keys_new_refuses_a_bad_id_and_one_the_keyring_holds_already(
    run: Run, tmp_path: Path
) -> None:
    held = (tmp_path / "data_keys").read_text().strip().partition(":")[0]

    bad = run("keys", "new", "no spaces")
    taken = run("keys", "new", held)

    assert (bad.exit_code, bad.stdout) == (2, "")
    assert "1 to 20 letters, digits" in bad.stderr
    assert (taken.exit_code, taken.stdout) == (2, "")
    assert f"holds a key {held!r} already" in taken.stderr


def test_keys_rotate_reseals_with_a_progress_bar_and_a_second_run_reseals_nothing(
    run: Run, container: Container, keyed: Callable[..., Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = make_org(container.services)
    keys = enroll_many(keyed(K1), org, 5)
    monkeypatch.setenv("ONBOARD_DATA_KEYS", f"{K2},{K1}")

    result = run("keys", "rotate", "--batch", "2")

    assert result.exit_code == 0, result.output
    assert result.stdout == "re-sealed 5 value(s) under key k2; 0 already under it\n"
    assert "Re-sealing 5 secret(s)" in result.stderr
    assert {e: opened(keyed(K2), e) for e in keys} == keys

    again = run("keys", "rotate")

    assert again.exit_code == 0, again.output
    assert again.stdout == "re-sealed 0 value(s) under key k2; 5 already under it\n"
    assert "Re-sealing" not in again.stderr, "no bar when nothing is to be done"


def test_keys_rotate_refuses_values_under_a_key_it_lacks_naming_it_and_leaving_them(
    run: Run, container: Container, keyed: Callable[..., Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = make_org(container.services)
    keys = enroll_many(keyed(K1), org, 2)
    lost = enroll_many(keyed(K0), org, 1, prefix="OLD")
    before = {e: sealed(keyed(K0), e) for e in lost}
    monkeypatch.setenv("ONBOARD_DATA_KEYS", f"{K2},{K1}")

    result = run("keys", "rotate")

    assert result.exit_code == 1
    assert result.stdout == "re-sealed 2 value(s) under key k2; 0 already under it\n"
    assert (
        "1 of the enrollment access keys left as they are: "
        "A value is sealed under key 'k0', which the keyring does not hold." in result.stderr
    )
    assert "add the key(s) they are sealed under to ONBOARD_DATA_KEYS" in result.stderr
    assert {e: sealed(keyed(K0), e) for e in lost} == before
    assert {e: opened(keyed(K2), e) for e in keys} == keys


def test_keys_rotate_with_an_unusable_setting_or_batch_says_so_and_changes_nothing(
    run: Run, container: Container, keyed: Callable[..., Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = make_org(container.services)
    keys = enroll_many(keyed(K1), org, 1)
    before = {e: sealed(keyed(K1), e) for e in keys}

    monkeypatch.setenv("ONBOARD_DATA_KEYS", "k2:" + base64.b64encode(b"short").decode())
    short = run("keys", "rotate")
    monkeypatch.setenv("ONBOARD_DATA_KEYS", f"{K2},{K1}")
    zero = run("keys", "rotate", "--batch", "0")

    assert short.exit_code == 1
    assert "ONBOARD_DATA_KEYS cannot be used: Key 'k2' must be 32 bytes" in short.stderr
    assert isinstance(short.exception, SystemExit), "a message, not a traceback"
    assert zero.exit_code == 2
    assert {e: sealed(keyed(K1), e) for e in keys} == before
