"""The table of published set versions: every version a kiosk may be told to fetch, kept as served."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UtcDateTime


class SetVersionRow(Base):
    """One published version of one replicated set: the exact bytes served and their SHA-256."""

    __tablename__ = "set_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # canonical JSON (protocol.codec), served byte for byte
    published_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
