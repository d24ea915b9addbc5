"""Tables. Times are UNIX epoch seconds (floats) so SQL stays portable across databases."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)  # JSON
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)


class ServerRestart(Base):
    """One entry of the OpenCode server's restart history: why, and how it ended."""

    __tablename__ = "server_restarts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    reason: Mapped[str] = mapped_column(String(40), nullable=False)  # crashed, unhealthy, manual, ...
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    delay: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")  # pending, ok, failed, gave-up


class MetricSample(Base):
    """Downsampled server metrics: one row per `resolution` seconds."""

    __tablename__ = "metric_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    resolution: Mapped[float] = mapped_column(Float, nullable=False)
    cpu_percent: Mapped[float] = mapped_column(Float, nullable=False)
    rss_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    threads: Mapped[int] = mapped_column(Integer, nullable=False)
    requests: Mapped[int] = mapped_column(Integer, nullable=False)
    errors: Mapped[int] = mapped_column(Integer, nullable=False)
    restarts: Mapped[int] = mapped_column(Integer, nullable=False)
