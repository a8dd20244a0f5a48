"""The W1 ceiling: the least a web answer can cost — a bare Flask app inserting one row per request with
SQLAlchemy in its own transaction, served by the same gunicorn settings as Pulse.

``python -m benchmarks.baseline_app`` creates its table (once, before the server starts: two workers creating
it at once would race)."""

from __future__ import annotations

import json
import os
import uuid

from flask import Flask, request
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert

from pulse.common.db import make_engine

metadata = MetaData()
baseline = Table("bench_baseline", metadata, Column("id", String(36), primary_key=True),
                 Column("unit_id", Integer), Column("values", Text))
engine = make_engine(os.environ["PULSE_DATABASE_URL"])
app = Flask(__name__)


@app.post("/")
def store() -> tuple[dict[str, str], int]:
    values = request.get_json(force=True).get("values")
    with engine.begin() as conn:
        conn.execute(insert(baseline).values(id=str(uuid.uuid4()), unit_id=1, values=json.dumps(values)))
    return {"status": "stored"}, 201


if __name__ == "__main__":
    metadata.create_all(engine)
