"""The thin baseline: the least a FastAPI service can do per request for one TPC-B-like transaction.

Not part of DineCard. One POST endpoint runs pgbench's tpcb-like transaction (update an account,
read it back, update a teller and a branch, insert a history row) on pgbench's tables through
psycopg 3 with a connection pool (SQLAlchemy's QueuePool over raw psycopg connections, the
pool DineCard uses, with DineCard's default size 10 + 20, but without DineCard's ping on every
check-out: the baseline is the least one can do). Like DineCard's endpoints it is a
plain `def` (run in the thread pool), reads a Pydantic body and answers JSON; it is served by
the same uvicorn settings (`--workers N`, no access log, no reload):

    BENCH_THIN_DSN=postgresql://postgres@127.0.0.1/dinecard_bench_pgbench \\
        python -m uvicorn thin_app:app --app-dir bench --workers 2 --no-access-log
"""

from __future__ import annotations

import os

import psycopg
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.pool import QueuePool

DSN = os.environ.get("BENCH_THIN_DSN", "postgresql://postgres@127.0.0.1:5432/dinecard_bench_pgbench")
POOL = QueuePool(
    lambda: psycopg.connect(DSN),
    pool_size=int(os.environ.get("BENCH_THIN_POOL_SIZE", "10")),
    max_overflow=int(os.environ.get("BENCH_THIN_POOL_OVERFLOW", "20")),
    pre_ping=False,
)

app = FastAPI(title="thin baseline")


class Transfer(BaseModel):
    aid: int = Field(ge=1)
    tid: int = Field(ge=1)
    bid: int = Field(ge=1)
    delta: int = Field(ge=-5000, le=5000)


@app.post("/tpcb", status_code=201)
def tpcb(body: Transfer) -> JSONResponse:
    connection = POOL.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE pgbench_accounts SET abalance = abalance + %s WHERE aid = %s", (body.delta, body.aid)
            )
            cursor.execute("SELECT abalance FROM pgbench_accounts WHERE aid = %s", (body.aid,))
            balance = cursor.fetchone()[0]  # type: ignore[index]
            cursor.execute("UPDATE pgbench_tellers SET tbalance = tbalance + %s WHERE tid = %s", (body.delta, body.tid))
            cursor.execute(
                "UPDATE pgbench_branches SET bbalance = bbalance + %s WHERE bid = %s", (body.delta, body.bid)
            )
            cursor.execute(
                "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%s, %s, %s, %s, CURRENT_TIMESTAMP)",
                (body.tid, body.bid, body.aid, body.delta),
            )
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()  # back to the pool
    return JSONResponse({"aid": body.aid, "balance": balance}, status_code=201)


@app.get("/readyz")
def readyz() -> dict[str, str]:
    connection = POOL.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        connection.commit()
    finally:
        connection.close()
    return {"status": "ready"}
