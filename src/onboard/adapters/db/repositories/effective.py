"""A8 kept as rows: each code's effective departments in ``code_effective_departments``,
rewritten by the code and device repositories whenever pairing or a department set changes,
so that department-scoped code lists read one index instead of evaluating A8 per row (A16).

Concurrent writers are kept apart by row locks (PostgreSQL; SQLite runs one writer at a
time): a pairing holds the code's row and, through the foreign key, a KEY SHARE lock on the
device's; an unpairing holds the code's row and takes that KEY SHARE lock itself; a device's
department change or deletion locks the device's row FOR UPDATE before it rewrites anything.
So a device's departments cannot change between a pairing or unpairing reading them and its
commit, and a code's own departments change only under its row's lock.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, delete, insert, select, union_all

from onboard.adapters.db import tables as t


def refresh(conn: Connection, which: ColumnElement[bool], *, new: bool = False) -> None:
    """Recompute A8 from scratch for the codes matching ``which`` (a condition on
    ``codes``): a paired code's departments are its device's, an unpaired code's its own.
    ``new`` skips removing rows that cannot exist yet (codes just inserted)."""
    codes, effective = t.codes, t.code_effective_departments
    if not new:
        conn.execute(
            delete(effective).where(effective.c.code_id.in_(select(codes.c.id).where(which)))
        )
    devices, own = t.device_departments, t.code_departments
    through_device = (
        select(codes.c.id, devices.c.department_id)
        .join(devices, devices.c.device_id == codes.c.device_id)
        .where(which)
    )
    of_its_own = (
        select(codes.c.id, own.c.department_id)
        .join(own, own.c.code_id == codes.c.id)
        .where(codes.c.device_id.is_(None), which)
    )
    conn.execute(
        insert(effective).from_select(
            ["code_id", "department_id"], union_all(through_device, of_its_own)
        )
    )


def hold_device(conn: Connection, device_id: str, *, exclusive: bool) -> bool:
    """Lock the device's row to the end of the transaction: shared by pairings and
    unpairings (KEY SHARE), exclusive for a department change or deletion, which rewrites
    the effective departments of every code paired with it. False if there is no such
    device."""
    query = select(t.devices.c.id).where(t.devices.c.id == device_id)
    if exclusive:
        query = query.with_for_update()
    else:
        query = query.with_for_update(read=True, key_share=True)
    return conn.execute(query).first() is not None
