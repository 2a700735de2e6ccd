"""The kiosk's record of the ballots cast here: no choice, no name, only the tracking code and the pseudonym."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.models import Base, UTCDateTime


class CastBallot(Base):
    """One ballot cast at this kiosk; its envelope is the body of outbox row ``outbox_id``."""

    __tablename__ = "cast_ballots"
    __table_args__ = (Index("ix_cast_ballots_poll_pseudonym", "poll_id", "pseudonym"),)

    tracking_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    poll_id: Mapped[str] = mapped_column(String(64))
    pseudonym: Mapped[str] = mapped_column(String(64))
    outbox_id: Mapped[str] = mapped_column(String(36))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime())
