"""The `onboard` CLI for what people do in bulk, on each backend: codes in batches, the code
list, devices and their CSV import, pairing and unpairing (SPEC A1-A9, §5)."""

from __future__ import annotations

from pathlib import Path

from onboard.bootstrap import Container
from onboard.domain.devices import Device
from onboard.services import codes, customers, devices, pairing, templates
from onboard.services.devices import DeviceInput
from onboard.services.ports import CodeFilter, DeviceFilter, PageRequest, Services
from tests import factories
from tests.integration.conftest import CLI_PUBLIC_URL

HEADER = "name,serial,template,customer,location,departments,attr:pressure,attr:warranty"


def batch_tokens(svc: Services, org: factories.Org, batch: str) -> set[str]:
    page = codes.list_codes(svc, org.actor, CodeFilter(batch=batch), PageRequest(limit=500))
    return {c.token for c in page.items}


def all_devices(svc: Services, org: factories.Org) -> list[Device]:
    return list(devices.list_devices(svc, org.actor, DeviceFilter(), PageRequest()).items)


def make_pump_template(svc: Services, org: factories.Org, name: str = "Pump") -> str:
    return templates.create_template(
        svc,
        org.actor,
        name=name,
        fields=[
            {"name": "pressure", "type": "number", "required": True},
            {"name": "warranty", "type": "boolean"},
        ],
    ).id


def test_codes_create_prints_a_token_and_its_url_per_code_of_the_batch(
    run, container: Container, org: factories.Org
) -> None:
    result = run(
        "codes", "create", "--org", org.organization.name, "--count", "3",
        "--batch", "2025-W14", "--label", "Service hotline 0800 123",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    printed = {}
    for line in lines:
        token, url = line.split("\t")
        printed[token] = url
    assert all(url == f"{CLI_PUBLIC_URL}/c/{token}" for token, url in printed.items())
    assert batch_tokens(container.services, org, "2025-W14") == set(printed)
    (code, *_) = codes.list_codes(
        container.services, org.actor, CodeFilter(batch="2025-W14"), PageRequest()
    ).items
    assert code.label == "Service hotline 0800 123"
    assert code.device_id is None


def test_codes_create_by_organization_id_with_quiet_prints_a_summary_and_a_pin_protects_them(
    run, container: Container, org: factories.Org
) -> None:
    result = run(
        "codes", "create", "--org", org.organization.id, "--count", "25", "--batch", "B",
        "--pin", "2468", "--quiet",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "25 code(s) created in batch 'B'"
    page = codes.list_codes(container.services, org.actor, CodeFilter(batch="B"), PageRequest())
    assert len(page.items) == 25
    assert all(c.pin_protected for c in page.items)


def test_codes_create_with_a_bad_pin_or_an_unknown_organization_creates_nothing(
    run, container: Container, org: factories.Org
) -> None:
    bad_pin = run("codes", "create", "--org", org.organization.id, "--count", "2",
                  "--batch", "X", "--pin", "12")  # fmt: skip
    unknown = run("codes", "create", "--org", "No Such Org", "--count", "2", "--batch", "X")

    assert bad_pin.exit_code == 2
    assert "4 to 8 digits" in bad_pin.output
    assert unknown.exit_code == 1
    assert "No organization 'No Such Org'" in unknown.output
    assert batch_tokens(container.services, org, "X") == set()


def test_codes_list_shows_a_table_filtered_by_batch_and_pairing(
    run, container: Container, org: factories.Org
) -> None:
    svc = container.services
    first, second = codes.create_codes(svc, org.actor, count=2, batch="A", label="Lobby")
    codes.create_codes(svc, org.actor, count=1, batch="B")
    device = devices.create_device(svc, org.actor, DeviceInput(name="Lift 1"))
    pairing.pair_code(svc, org.actor, first.token, device.id)

    batch_a = run("codes", "list", "--org", org.organization.name, "--batch", "A")
    paired = run("codes", "list", "--org", org.organization.name, "--paired")
    unpaired = run("codes", "list", "--org", org.organization.name, "--batch", "A", "--unpaired")
    limited = run("codes", "list", "--org", org.organization.name, "--limit", "1")

    assert batch_a.exit_code == 0, batch_a.output
    header, *rows = batch_a.stdout.splitlines()
    assert header.split() == ["TOKEN", "URL", "BATCH", "LABEL", "ACTIVE", "PIN", "DEVICE"]
    assert sorted(r.split()[0] for r in rows) == sorted([first.token, second.token])
    assert f"{CLI_PUBLIC_URL}/c/{first.token}" in batch_a.stdout
    paired_rows = paired.stdout.splitlines()[1:]
    assert [r.split() for r in paired_rows] == [
        [first.token, f"{CLI_PUBLIC_URL}/c/{first.token}", "A", "Lobby", "yes", "no", device.id]
    ]
    assert [r.split()[0] for r in unpaired.stdout.splitlines()[1:]] == [second.token]
    assert len(limited.stdout.splitlines()) == 2
    assert "raise --limit" in limited.stderr


def test_devices_create_prints_the_id_of_a_device_made_from_a_template_named_by_name(
    run, container: Container, org: factories.Org
) -> None:
    svc = container.services
    template_id = templates.create_template(
        svc, org.actor, name="Boiler", fields=[{"name": "kw", "type": "number"}]
    ).id

    made = run("devices", "create", "--org", org.organization.name, "--name", "Boiler 3",
               "--serial", "B-0003", "--template", "Boiler")  # fmt: skip
    unknown = run("devices", "create", "--org", org.organization.name, "--name", "X",
                  "--template", "Chiller")  # fmt: skip

    assert made.exit_code == 0, made.output
    device = devices.get_device(svc, org.actor, made.stdout.strip())
    assert (device.name, device.serial, device.template_id) == ("Boiler 3", "B-0003", template_id)
    assert unknown.exit_code == 2
    assert "No template 'Chiller'" in unknown.output
    assert [d.name for d in all_devices(svc, org)] == ["Boiler 3"]


def test_pair_and_unpair_link_a_code_to_a_device_and_back(
    run, container: Container, org: factories.Org
) -> None:
    svc = container.services
    (code,) = codes.create_codes(svc, org.actor, count=1)
    device = devices.create_device(svc, org.actor, DeviceInput(name="Chiller 2"))

    paired = run("pair", "--org", org.organization.name, code.token.lower(), device.id)
    again = run("pair", "--org", org.organization.name, code.token, device.id)
    linked = codes.get_code(svc, org.actor, code.token).device_id
    unpaired = run("unpair", "--org", org.organization.name, code.token)
    twice = run("unpair", "--org", org.organization.name, code.token)

    assert paired.exit_code == 0, paired.output
    assert f"code {code.token} paired with device 'Chiller 2'" in paired.stdout
    assert linked == device.id
    assert again.exit_code == 1
    assert "paired with a device already" in again.output
    assert unpaired.exit_code == 0, unpaired.output
    assert f"code {code.token} unpaired" in unpaired.stdout
    assert codes.get_code(svc, org.actor, code.token).device_id is None
    assert twice.exit_code == 1
    assert devices.get_device(svc, org.actor, device.id).name == "Chiller 2"


def test_pairing_in_another_organization_does_not_find_the_code(
    run, container: Container, org: factories.Org
) -> None:
    svc = container.services
    (code,) = codes.create_codes(svc, org.actor, count=1)
    other = factories.make_org(svc)
    device = devices.create_device(svc, other.actor, DeviceInput(name="Theirs"))

    result = run("pair", "--org", other.organization.name, code.token, device.id)

    assert result.exit_code == 1
    assert "No code" in result.output
    assert codes.get_code(svc, org.actor, code.token).device_id is None


def write_csv(tmp_path: Path, *rows: str, header: str = HEADER) -> str:
    path = tmp_path / "devices.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def test_devices_import_reports_every_row_and_imports_nothing_when_one_is_bad(
    run, container: Container, org: factories.Org, tmp_path: Path
) -> None:
    svc = container.services
    make_pump_template(svc, org)
    csv_file = write_csv(
        tmp_path,
        "Pump 1,P-1,Pump,,Hall A,,2.5,yes",
        "Pump 2,P-2,Pump,,Hall A,,lots,no",
        "Pump 3,P-3,Chiller,,,,1,",
        "Pump 4,P-4,Pump,,,,,",
        "Pump 5,P-5,Pump,,,,4,true",
    )

    result = run("devices", "import", "--org", org.organization.name, csv_file)

    assert result.exit_code == 2
    assert result.stdout.splitlines()[:5] == [
        "row 2: ok",
        "row 3: invalid_attributes: Attribute 'pressure' must be a number.",
        "row 4: invalid: No template 'Chiller' here.",
        "row 5: invalid_attributes: Attribute 'pressure' is required by the template.",
        "row 6: ok",
    ]
    assert "3 of 5 row(s) refused; nothing imported" in result.output
    assert all_devices(svc, org) == []


def test_devices_import_with_valid_only_imports_the_good_rows_typed_and_resolved_by_name(
    run, container: Container, org: factories.Org, tmp_path: Path
) -> None:
    svc = container.services
    template_id = make_pump_template(svc, org)
    department = factories.make_department(svc, org, name="Plant North")
    customer = customers.create_customer(svc, org.actor, name="Stadtwerke Süd")
    csv_file = write_csv(
        tmp_path,
        "Pump 1,P-1,pump,Stadtwerke Süd,Hall A,Plant North,2.5,yes",
        "Pump 2,P-2,Pump,Nobody Inc,,,1,no",
        '"Pump 3, spare",P-3,Pump,,,,7,false',
    )

    result = run("devices", "import", "--org", org.organization.id, "--valid-only", csv_file)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "row 2: ok",
        "row 3: invalid: No customer 'Nobody Inc' here.",
        "row 4: ok",
        "imported 2 device(s); 1 row(s) skipped",
    ]
    imported = {d.name: d for d in all_devices(svc, org)}
    assert sorted(imported) == ["Pump 1", "Pump 3, spare"]
    first = imported["Pump 1"]
    assert first.attributes == {"pressure": 2.5, "warranty": True}
    assert (first.serial, first.template_id, first.customer_id) == ("P-1", template_id, customer.id)
    assert first.location.text == "Hall A"
    assert first.departments == frozenset({department.id})
    assert imported["Pump 3, spare"].attributes == {"pressure": 7, "warranty": False}


def test_devices_import_refuses_a_file_with_an_unknown_column_before_any_row(
    run, container: Container, org: factories.Org, tmp_path: Path
) -> None:
    csv_file = write_csv(tmp_path, "Pump 1,oops", header="name,colour")

    result = run("devices", "import", "--org", org.organization.name, csv_file)

    assert result.exit_code == 2
    assert "unknown column(s) 'colour'" in result.output
    assert "row 2" not in result.output
    assert all_devices(container.services, org) == []
