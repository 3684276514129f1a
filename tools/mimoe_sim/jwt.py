"""Edge access tokens: HS256 JWTs signed with the node's secret (<data-dir>/jwt-secret).

The real mimOE verifies tokens issued by mimik's identity service; the simulator cannot, so it signs and verifies
its own HS256 tokens. A token is accepted when its signature is valid, it has not expired (exp), and its `scope`
claim (space separated) contains `edge:mcm`.
"""

import base64
import hashlib
import hmac
import json
import time

REQUIRED_SCOPE = "edge:mcm"


class TokenError(Exception):
    pass


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text):
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


def sign(secret, claims):
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = _b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + _b64url(
        json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    )
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


def make_token(secret, node_id, scope=REQUIRED_SCOPE, expired=False, ttl=3600, client_id=None, now=None):
    now = int(now if now is not None else time.time())
    claims = {
        "iss": "mimoe-sim",
        "aud": node_id,
        "sub": client_id or "api",
        "scope": scope,
        "iat": now - (2 * ttl if expired else 0),
        "exp": now - ttl if expired else now + ttl,
    }
    if client_id:
        claims["clientId"] = client_id
    return sign(secret, claims)


def verify(secret, token, now=None):
    """Return the claims of a valid token carrying scope edge:mcm, else raise TokenError(reason)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("A JWT Token is required")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise TokenError("A JWT Token is required") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise TokenError("invalid algorithm")
    expected = hmac.new(secret, (parts[0] + "." + parts[1]).encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise TokenError("invalid signature")
    now = time.time() if now is None else now
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp <= now:
        raise TokenError("jwt expired")
    scopes = claims.get("scope", "")
    scopes = scopes.split() if isinstance(scopes, str) else scopes
    if not isinstance(scopes, list) or REQUIRED_SCOPE not in scopes:
        raise TokenError("insufficient scope, %s is required" % REQUIRED_SCOPE)
    return claims
