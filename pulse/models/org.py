"""The organisation: a tree of units, the people in it, and who leads or safeguards which units."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pulse.common.db import Base, UTCDateTime, utcnow


class Unit(Base):
    """One node of the organisation tree (municipality, administration, department, unit, group…)."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The organisation's own identifier (``unit_id`` in units.csv); stable across imports.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    #: False once a unit has disappeared from the organisation file; kept so history still has a home.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.name")

    def __repr__(self) -> str:
        return f"<Unit {self.key} {self.name!r}>"


class PersonStatus(enum.StrEnum):
    ACTIVE = "active"
    ON_LEAVE = "on_leave"
    LEFT = "left"


class Person(Base):
    """Someone in the organisation. Staff roles follow from admin flag, managed units and safety area."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased; the natural key of the people file.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="sv")
    status: Mapped[PersonStatus] = mapped_column(
        Enum(PersonStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=PersonStatus.ACTIVE,
    )
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    #: argon2id hash; empty until the person sets a password (reset link or create-admin).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: Bumped on password change and sign-out-everywhere; sessions carrying an older number end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    #: The person's own answer key (X25519): invitations seal the person's credential to it, so that "Answer now"
    #: works after sign-in. Its private half is stored only encrypted under a key derived from the person's
    #: password (never from the application secret), so the operator cannot open it (docs/ANONYMITY.md,
    #: "Answer now").
    answer_key_public: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    answer_key_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    answer_key_salt: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit | None] = relationship()
    managed_units: Mapped[list[Unit]] = relationship(secondary="management", order_by="Unit.name",
                                                     viewonly=True)
    safety_units: Mapped[list[Unit]] = relationship(secondary="safety_area_unit", order_by="Unit.name",
                                                    viewonly=True)

    def __repr__(self) -> str:
        return f"<Person {self.id}>"


class Management(Base):
    """A person leads a unit (and so sees its subtree)."""

    __tablename__ = "management"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)


class SafetyAreaUnit(Base):
    """A unit in a safety representative's safety area (skyddsområde), with its subtree."""

    __tablename__ = "safety_area_unit"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)


class OrgImport(Base):
    """An uploaded organisation file pair waiting for the admin to confirm its preview."""

    __tablename__ = "org_import"
    __table_args__ = (UniqueConstraint("token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random identifier used in the confirm URL, so previews cannot be guessed.
    token: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    units_filename: Mapped[str] = mapped_column(String(255))
    people_filename: Mapped[str] = mapped_column(String(255))
    units_csv: Mapped[str] = mapped_column(Text)
    people_csv: Mapped[str] = mapped_column(Text)
