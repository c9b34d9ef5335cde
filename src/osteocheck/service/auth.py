"""The CDS Hooks JWT an EHR sends (`Authorization: Bearer …`), checked against the keys the operator configured.

CDS Hooks 2.0: signed with ES384 or RS384, the key chosen by `kid`, `aud` the service's URL, `iss`,
`exp`, `iat` and `jti` present, the `jti` a nonce "used to protect against replay attacks": a token is
answered once, so one copied off the wire (or out of a log) cannot be sent again. A `jku` in the token
is ignored: keys come only from `--jwks`.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from osteocheck.errors import OsteocheckError
from osteocheck.service.request import Refused

ALGORITHMS = ["ES384", "RS384"]
REQUIRED = ["iss", "aud", "exp", "iat", "jti"]
MAX_JWKS_BYTES = 1024 * 1024
LEEWAY = 30  # seconds of clock difference allowed either side
MAX_UNEXPIRED = 200_000  # unexpired tokens remembered at most (about 45 MB), far more than a clinic sends
SWEEP_EVERY = 10_000  # tokens remembered between two sweeps of the expired ones


class Verifier:
    def __init__(self, jwks: str, *, issuer: str | None = None, lifespan: float = 300) -> None:
        import jwt  # noqa: PLC0415 - part of the serve extra

        self.issuer = issuer
        self._used: dict[tuple[str, str], float] = {}  # (iss, jti) of each token answered, and its exp
        self._sweep_at = SWEEP_EVERY
        self._lock = threading.Lock()  # tokens are verified in threads, several at once
        self.client: Any = None
        self.keys: Any = None
        if jwks.startswith(("https://", "http://")):
            # The key set is read again after `lifespan` seconds, so a key the EHR withdraws stops working.
            # No cache of single keys: PyJWT keeps those with no end, a withdrawn one among them.
            self.client = jwt.PyJWKClient(jwks, cache_keys=False, lifespan=lifespan, timeout=10)
            return
        try:
            with Path(jwks).open("rb") as handle:
                raw = handle.read(MAX_JWKS_BYTES + 1)
            if len(raw) > MAX_JWKS_BYTES:
                raise ValueError(f"larger than {MAX_JWKS_BYTES:,} bytes")
            self.keys = jwt.PyJWKSet.from_dict(json.loads(raw))
        except OSError as exc:
            raise OsteocheckError(f"--jwks {jwks}: cannot read it: {exc.strerror}") from None
        except (ValueError, jwt.PyJWTError) as exc:
            raise OsteocheckError(f"--jwks {jwks}: not a JSON Web Key Set ({exc})") from None

    def verify(self, header: str | None, audience: str) -> dict[str, Any]:
        import jwt  # noqa: PLC0415

        if not header or not header.startswith("Bearer "):
            raise Refused(401, "this service needs the EHR's signed JWT (Authorization: Bearer …)")
        token = header[len("Bearer ") :].strip()
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if self.client is not None:
                key = self.client.get_signing_key(kid).key
            else:
                key = next((k.key for k in self.keys.keys if k.key_id == kid), None)
                if key is None:
                    raise Refused(401, "the JWT names a key this service does not know")
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=self.issuer,
                options={"require": REQUIRED},
                leeway=LEEWAY,
            )
        except jwt.PyJWTError as exc:
            raise Refused(401, f"the JWT was not accepted: {type(exc).__name__}") from None
        self._once(str(claims["iss"]), str(claims["jti"]), float(claims["exp"]))
        return claims

    def _once(self, issuer: str, jti: str, expires: float) -> None:
        """Remember a token until it expires, and refuse it if it came before: a replay."""
        with self._lock:
            if (issuer, jti) in self._used:
                raise Refused(401, "the JWT was used before (its jti): the EHR must sign a new one for each call")
            if len(self._used) >= min(self._sweep_at, MAX_UNEXPIRED):
                now = time.time()
                self._used = {k: e for k, e in self._used.items() if e + LEEWAY >= now}
                if len(self._used) >= MAX_UNEXPIRED:  # forgetting one would let it be replayed
                    raise Refused(503, "too many unexpired tokens to remember; send the call again later")
                self._sweep_at = len(self._used) + SWEEP_EVERY
            self._used[issuer, jti] = expires
