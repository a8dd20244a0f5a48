"""The W1 baseline: the least a web answer can cost — one SQLAlchemy insert of one response row in its own
transaction, served by the same gunicorn setup as Pulse."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert

from pulse.common.db import make_engine

metadata = MetaData()
baseline = Table("bench_baseline", metadata, Column("id", String(36), primary_key=True),
                 Column("unit_id", Integer), Column("values", Text))
engine = make_engine(os.environ["PULSE_DATABASE_URL"])
metadata.create_all(engine)
VALUES = json.dumps([4, 3, None, 5, 2, 4, 0, 3])


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    with engine.begin() as conn:
        conn.execute(insert(baseline).values(id=str(uuid.uuid4()), unit_id=1, values=VALUES))
    body = b'{"status":"stored"}'
    start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
