"""Tables for staff accounts, their roles and failed sign-in attempts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, UtcDateTime


class StaffUser(Base):
    """A staff account. The password is an argon2 hash; the TOTP secret is sealed (see `hub.staff.totp`)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # The id on the member's employee e-ID card (HSA-id style, e.g. SE2321000255-abc123): the key of the staff
    # list kiosks receive (hub/sets), so that the card signs the member in with these roles. None: no card.
    employee_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_sealed: Mapped[str] = mapped_column(String(255))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="StaffRole.role"
    )


class StaffRole(Base):
    """One role held by one staff member."""

    __tablename__ = "staff_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[StaffUser] = relationship(back_populates="roles")


class SigninFailure(Base):
    """A failed sign-in, counted against a key: a hash of the username or the client address, never the text.

    Hashing the key keeps a password typed into the username field out of the database (SEC-20).
    """

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
