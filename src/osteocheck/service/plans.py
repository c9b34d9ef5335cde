"""The full plans behind the link cards: the last ones served, kept in memory for a short time."""

from __future__ import annotations

import marshal
import secrets
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from osteocheck.engine.model import Profile, Record

if TYPE_CHECKING:
    from osteocheck.engine.model import Knowledge, Plan


class Plans:
    """The last plans served, for the link card's URL: a bounded, expiring, in-memory store.

    What a plan was made from is kept as bytes (marshal: tuples of text and numbers only, written and
    read by this process alone), not as objects: a thousand kept plans are tens of thousands of tuples,
    which the collector's full passes would walk through while requests wait (4-13 ms a pass against 2).
    The evaluation is pure, so the plan comes back the same."""

    def __init__(self, size: int, ttl: float) -> None:
        self.size, self.ttl = size, ttl
        self.kept: OrderedDict[str, bytes] = OrderedDict()

    def put(self, plan: Plan) -> str:
        token = self.token()
        self.keep(token, made_of(plan))
        return token

    @staticmethod
    def token() -> str:
        return secrets.token_urlsafe(24)

    def keep(self, token: str, made: bytes) -> None:
        """Keep under `token` the plan `made_of` describes (made here, or by a worker)."""
        self.kept[token] = marshal.dumps((time.monotonic() + self.ttl, made))
        while len(self.kept) > self.size:
            self.kept.popitem(last=False)

    def get(self, token: str, knowledge: Knowledge) -> Plan | None:
        found = self.kept.get(token)
        if found is None:
            return None
        expires, made = marshal.loads(found)  # noqa: S302 - bytes this process wrote itself
        if expires < time.monotonic():
            self.kept.pop(token, None)
            return None
        profile, record = marshal.loads(made)  # noqa: S302 - written by this process or its own workers
        from osteocheck.engine.evaluate import evaluate  # noqa: PLC0415

        return evaluate(Profile(*profile), knowledge)._replace(record=None if record is None else Record(*record))


def made_of(plan: Plan) -> bytes:
    """What a plan was made from, as bytes (its profile and the record's account): it evaluates again the same."""
    return marshal.dumps((tuple(plan.profile), tuple(plan.record) if plan.record is not None else None))
