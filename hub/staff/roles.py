"""Staff roles. A role grants access to an area of the hub; ``admin`` may enter every area."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    """The roles a staff member can hold."""

    ADMIN = "admin"
    ELECTION_OFFICER = "election_officer"
    REGISTRAR = "registrar"
    IT = "it"
    STAFF = "staff"


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Roles from their names; a `ValueError` names the first unknown one."""
    roles: set[Role] = set()
    for name in names:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {name!r} (known: {known})") from None
    return frozenset(roles)


def may_enter(held: Iterable[Role], needed: Iterable[Role]) -> bool:
    """True when one of ``held`` is among ``needed``, or ``held`` includes admin."""
    held_set = set(held)
    return Role.ADMIN in held_set or bool(held_set & set(needed))
