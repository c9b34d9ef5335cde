"""The CDS Hooks JWT an EHR sends (`Authorization: Bearer …`), checked against the keys the operator configured.

CDS Hooks 2.0: signed with ES384 or RS384, the key chosen by `kid`, `aud` the service's URL, `iss`,
`exp`, `iat` and `jti` present. A `jku` in the token is ignored: keys come only from `--jwks`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from osteocheck.errors import OsteocheckError
from osteocheck.service.request import Refused

ALGORITHMS = ["ES384", "RS384"]
REQUIRED = ["iss", "aud", "exp", "iat", "jti"]
MAX_JWKS_BYTES = 1024 * 1024


class Verifier:
    def __init__(self, jwks: str, *, issuer: str | None = None, lifespan: float = 300) -> None:
        import jwt  # noqa: PLC0415 - part of the serve extra

        self.issuer = issuer
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
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise Refused(401, f"the JWT was not accepted: {type(exc).__name__}") from None
        return claims
