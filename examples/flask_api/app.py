"""Orders API: an example Flask resource server for Portcullis access tokens.

Every protected route checks the caller's access token (a JWT, RFC 9068) locally,
against the keys Portcullis publishes: no call to Portcullis per request.
``GET /orders/<id>/live`` also asks Portcullis about the token (introspection,
RFC 7662), so that a revoked token is refused at once.

Run it (see README.md)::

    PORTCULLIS_ISSUER=http://127.0.0.1:8080 API_AUDIENCE=https://api.example.com \\
        flask --app app run --port 8081

Tests build it with ``create_app({...})`` and use ``app.test_client()``.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from functools import wraps
from urllib.parse import quote_plus, urlsplit, urlunsplit

import jwt
import requests
from flask import Flask, current_app, g, jsonify, request
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError

SCOPES = ["orders:read", "orders:write"]
ADMIN_ROLE = "admin"

# RFC 9068 §4: the `typ` header tells an access token from an ID token or any other JWT
# the same issuer signs with the same keys. Without this check an ID token (whose `aud`
# is a client id) could be presented to an API whose identifier is that client id.
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}

# The only (key type, curve) pairs accepted, each with the one algorithm it may be used
# with. Portcullis signs with ES256 (default), RS256 or EdDSA. HS256/384/512 are refused:
# Portcullis never signs access tokens with a shared secret, and a verifier that lets the
# token's header pick HMAC can be made to check the MAC with the *public* key as the
# secret, which anyone can forge. `none` is refused for the same reason.
ACCEPTED_KEYS = {("EC", "P-256"): "ES256", ("RSA", None): "RS256", ("OKP", "Ed25519"): "EdDSA"}

# RFC 9068 §2.2: claims every Portcullis access token carries. `scope` is optional
# there (a token may be granted none), so a missing `scope` is an empty one.
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]

# Clock skew allowed on `exp` and `iat`. Small: it only absorbs clock differences, and
# every second of it is a second a stolen, expired token still works.
LEEWAY_SECONDS = 30

# An unknown `kid` makes the JWKS be fetched again (a key Portcullis published after our
# last fetch), but at most once per this many seconds: otherwise anyone could send
# tokens with invented `kid`s and turn this API into a flood against the issuer.
UNKNOWN_KID_REFETCH_INTERVAL = 10

HTTP_TIMEOUT = 5


class InvalidToken(Exception):
    """The token must be refused: 401 ``invalid_token``. The text is sent to the caller."""


class IssuerUnavailable(Exception):
    """Portcullis could not be asked (discovery, JWKS or introspection failed): 503."""


def cache_max_age(cache_control: str) -> int:
    """`max-age` of a Cache-Control header; 0 (do not reuse) without one or with no-store."""
    max_age = 0
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return 0
        if name == "max-age" and value.strip().strip('"').isdigit():
            max_age = int(value.strip().strip('"'))
    return max_age


def is_accepted_key(jwk: dict) -> bool:
    """A signing key of an accepted type whose `alg` is the one that type allows."""
    if jwk.get("use", "sig") != "sig":
        return False
    return ACCEPTED_KEYS.get((jwk.get("kty"), jwk.get("crv"))) == jwk.get("alg")


class PortcullisJWKClient(PyJWKClient):
    """PyJWT's JWKS client, keeping the key set as long as Portcullis says.

    PyJWKClient's own cache uses a fixed lifespan; this one follows the JWKS response's
    `Cache-Control: max-age` (Portcullis publishes a new key at least that long before
    it signs with it, and a revoked key stops being trusted when it runs out), and
    refetches once, rate-limited, for a `kid` it does not know yet.
    """

    def __init__(self, jwks_uri: str):
        super().__init__(jwks_uri, cache_jwk_set=False, timeout=HTTP_TIMEOUT)
        self._lock = threading.Lock()
        self._jwk_set = None
        self._expires_at = 0.0
        self._max_age = 0
        self._last_unknown_kid_refetch: float | None = None
        self.fetch_count = 0

    def fetch_data(self) -> dict:
        self.fetch_count += 1
        try:
            response = requests.get(
                self.uri, timeout=self.timeout, headers={"Accept": "application/json"}
            )
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as e:
            raise PyJWKClientConnectionError(f"cannot fetch {self.uri}: {e}") from e
        self._max_age = cache_max_age(response.headers.get("Cache-Control", ""))
        keys = document.get("keys") if isinstance(document, dict) else None
        # Keys we would never verify with are dropped here, so they cannot be picked.
        return {"keys": [k for k in keys or [] if isinstance(k, dict) and is_accepted_key(k)]}

    def get_jwk_set(self, refresh: bool = False):
        now = time.monotonic()
        # Never past max-age, even when Portcullis is unreachable: fail closed.
        if refresh or self._jwk_set is None or now >= self._expires_at:
            try:
                self._jwk_set = super().get_jwk_set(refresh=True)
            except PyJWKSetError as e:  # no usable key at all
                raise PyJWKClientConnectionError(f"{self.uri}: {e}") from e
            self._expires_at = now + self._max_age
        return self._jwk_set

    def get_signing_key(self, kid: str):
        # One lock across the fetch: concurrent requests wait for one fetch.
        with self._lock:
            fetches = self.fetch_count
            key = self.match_kid(self.get_signing_keys(), kid)
            # A set fetched by this very call is as fresh as it gets: no second fetch.
            if key is None and self.fetch_count == fetches and self._may_refetch():
                key = self.match_kid(self.get_signing_keys(refresh=True), kid)
            if key is None:
                raise PyJWKClientError("no published key has this kid")
            return key

    def _may_refetch(self) -> bool:
        now = time.monotonic()
        last = self._last_unknown_kid_refetch
        if last is not None and now - last < UNKNOWN_KID_REFETCH_INTERVAL:
            return False
        self._last_unknown_kid_refetch = now
        return True


def audience_contains(aud, audience: str) -> bool:
    """`aud` (a string or an array of strings) names `audience`."""
    return aud == audience or (isinstance(aud, list) and audience in aud)


class TokenVerifier:
    """Checks Portcullis access tokens for one API (audience) of one issuer."""

    def __init__(self, issuer, audience, introspection_id=None, introspection_secret=None):
        self.issuer = issuer
        self.audience = audience
        self.introspection_id = introspection_id
        self.introspection_secret = introspection_secret
        self._lock = threading.Lock()
        self._metadata: dict | None = None
        self._jwks_client: PortcullisJWKClient | None = None

    def _discover(self) -> dict:
        """The issuer's discovery document, fetched once (OIDC Discovery 1.0 §4)."""
        with self._lock:
            if self._metadata is None:
                url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                try:
                    response = requests.get(url, timeout=HTTP_TIMEOUT)
                    response.raise_for_status()
                    metadata = response.json()
                except (requests.RequestException, ValueError) as e:
                    raise IssuerUnavailable(f"cannot fetch {url}: {e}") from e
                # §4.3: the document must name exactly the issuer we trust, or its
                # jwks_uri could point at anyone's keys.
                if not isinstance(metadata, dict) or metadata.get("issuer") != self.issuer:
                    raise IssuerUnavailable(f"{url} does not name issuer {self.issuer}")
                if not isinstance(metadata.get("jwks_uri"), str):
                    raise IssuerUnavailable(f"{url} has no jwks_uri")
                self._jwks_client = PortcullisJWKClient(metadata["jwks_uri"])
                self._metadata = metadata
            return self._metadata

    def verify(self, token: str) -> dict:
        """The claims of a valid access token for this API; raises InvalidToken."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("not an access token (typ must be at+jwt)")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("token has no kid")

        self._discover()
        try:
            key = self._jwks_client.get_signing_key(kid)
        except PyJWKClientConnectionError as e:
            raise IssuerUnavailable(str(e)) from e
        except PyJWKClientError:
            raise InvalidToken("unknown signing key") from None

        try:
            return jwt.decode(
                token,
                key.key,
                # Pinned by the key, never taken from the token's header.
                algorithms=[key.algorithm_name],
                issuer=self.issuer,
                # `aud` names the API a token was issued for (RFC 8707 `resource`).
                # Without this check, a token a client obtained for any other API of
                # the same issuer would be accepted here too.
                audience=self.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token issued in the future") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("token is not meant for this API") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("wrong issuer") from None
        except jwt.InvalidAlgorithmError:
            raise InvalidToken("algorithm does not match the key") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad signature") from None
        except jwt.MissingRequiredClaimError as e:
            raise InvalidToken(f"missing claim {e.claim}") from None
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None

    def introspect(self, token: str) -> dict:
        """Portcullis's own answer about the token (RFC 7662); raises InvalidToken
        unless it is active (not revoked, not expired, its user and client still
        enabled) and meant for this API. Never cached: the point of asking is to see a
        revocation at once."""
        if not (self.introspection_id and self.introspection_secret):
            raise IssuerUnavailable("introspection credentials are not configured")
        endpoint = self._discover().get("introspection_endpoint") or (
            self.issuer.rstrip("/") + "/introspect"
        )
        # RFC 6749 §2.3.1: id and secret are form-urlencoded before HTTP Basic.
        auth = (quote_plus(self.introspection_id), quote_plus(self.introspection_secret))
        try:
            response = requests.post(
                endpoint,
                data={"token": token},
                auth=auth,
                headers={"Accept": "application/json"},
                timeout=HTTP_TIMEOUT,
            )
            response.raise_for_status()
            answer = response.json()
        except (requests.RequestException, ValueError) as e:
            raise IssuerUnavailable(f"introspection failed: {e}") from e
        # RFC 7662 §2.2: nothing but `"active": true` means the token is good.
        if not isinstance(answer, dict) or answer.get("active") is not True:
            raise InvalidToken("token is not active")
        # Portcullis already answers inactive for another API's token; checked anyway.
        if not audience_contains(answer.get("aud"), self.audience):
            raise InvalidToken("token is not meant for this API")
        return answer


def granted_scopes(claims: dict) -> set[str]:
    scope = claims.get("scope")
    return set(scope.split()) if isinstance(scope, str) else set()


def granted_roles(claims: dict) -> list[str]:
    roles = claims.get("roles")  # RFC 9068 §2.2.3.1: an array of strings
    return [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []


WELL_KNOWN_METADATA = "/.well-known/oauth-protected-resource"


def metadata_path(resource: str) -> str:
    """RFC 9728 §3.1: the well-known path goes between the host and the identifier's
    path (https://api.example.com/v1 → /.well-known/oauth-protected-resource/v1)."""
    parts = urlsplit(resource)
    return WELL_KNOWN_METADATA + (
        parts.path.rstrip("/") if parts.scheme in ("http", "https") else ""
    )


def metadata_url(resource: str, own_base_url: str) -> str:
    """Where this API's RFC 9728 metadata is: under the identifier when it is an http(s)
    URL, as clients expect; for another identifier (a URN) under this API's own URL."""
    parts = urlsplit(resource)
    if parts.scheme not in ("http", "https"):
        return own_base_url.rstrip("/") + WELL_KNOWN_METADATA
    return urlunsplit((parts.scheme, parts.netloc, metadata_path(resource), "", ""))


def quoted(text: str) -> str:
    """Text fit for a quoted auth-param (RFC 6750 §3: no `"` or `\\`)."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)


# Responses (RFC 6750 §3) ----------------------------------------------------------


def challenge(status: int, header: str, body: dict):
    response = jsonify(body)
    response.status_code = status
    response.headers["WWW-Authenticate"] = header
    response.headers["Cache-Control"] = "no-store"
    return response


def missing_token():
    # §3.1: a request without credentials gets no error code. RFC 9728 §5.1: point the
    # client at this API's metadata, which names the authorization server.
    audience = current_app.config["API_AUDIENCE"]
    metadata = metadata_url(audience, request.host_url)
    return challenge(
        401,
        f'Bearer realm="{quoted(audience)}", resource_metadata="{metadata}"',
        {"error_description": "a bearer access token is required"},
    )


def invalid_token(description: str):
    return challenge(
        401,
        f'Bearer error="invalid_token", error_description="{quoted(description)}"',
        {"error": "invalid_token", "error_description": description},
    )


def insufficient_scope(scope: str):
    description = f"the {scope} scope is required"
    return challenge(
        403,
        f'Bearer error="insufficient_scope", scope="{scope}", error_description="{description}"',
        {"error": "insufficient_scope", "error_description": description, "scope": scope},
    )


def missing_role(role: str):
    description = f"the {role} role is required"
    return challenge(
        403,
        f'Bearer error="insufficient_scope", error_description="{description}"',
        {"error": "insufficient_scope", "error_description": description, "role": role},
    )


def bearer_token() -> str | None:
    """The token of `Authorization: Bearer <token>` (RFC 6750 §2.1), or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def require_token(scope: str | None = None, role: str | None = None, introspect=False):
    """Decorator: the view runs only for a valid token with `scope` and `role`, which
    with `introspect` Portcullis must also confirm is still active. The token's claims
    are in `g.token`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            token = bearer_token()
            if token is None:
                return missing_token()
            verifier: TokenVerifier = current_app.extensions["token_verifier"]
            try:
                claims = verifier.verify(token)
                # Checked locally first, so a forged or foreign token costs Portcullis
                # nothing; then Portcullis is asked whether it was revoked since.
                if introspect:
                    verifier.introspect(token)
            except InvalidToken as e:
                return invalid_token(str(e))
            except IssuerUnavailable as e:
                current_app.logger.error("cannot check tokens: %s", e)
                response = jsonify(error="temporarily_unavailable")
                response.status_code = 503
                return response
            if scope and scope not in granted_scopes(claims):
                return insufficient_scope(scope)
            # The role comes from the verified token: not from a JWT decoded with a
            # secret hard-coded in the API, nor without verification, nor from anything
            # else the caller can set (a header, a query parameter).
            if role and role not in granted_roles(claims):
                return missing_role(role)
            g.token = claims
            return view(*args, **kwargs)

        return wrapped

    return decorator


# The API --------------------------------------------------------------------------


class OrderStore:
    """In-memory orders; a real API has a database."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._orders: dict[int, dict] = {}
        for item in ("tea", "biscuits"):
            self.add({"item": item, "quantity": 1}, created_by="seed")

    def add(self, order: dict, created_by: str) -> dict:
        with self._lock:
            order = {"id": next(self._ids), **order, "created_by": created_by}
            self._orders[order["id"]] = order
            return order

    def all(self) -> list[dict]:
        with self._lock:
            return list(self._orders.values())

    def get(self, order_id: int) -> dict | None:
        with self._lock:
            return self._orders.get(order_id)


def create_app(config: dict | None = None) -> Flask:
    """The API. `config` overrides the environment: PORTCULLIS_ISSUER and API_AUDIENCE
    are required; API_INTROSPECTION_ID and API_INTROSPECTION_SECRET enable the live route."""
    app = Flask(__name__)
    for name in (
        "PORTCULLIS_ISSUER",
        "API_AUDIENCE",
        "API_INTROSPECTION_ID",
        "API_INTROSPECTION_SECRET",
    ):
        app.config[name] = os.environ.get(name)
    app.config.update(config or {})
    issuer, audience = app.config["PORTCULLIS_ISSUER"], app.config["API_AUDIENCE"]
    if not issuer or not audience:
        raise RuntimeError("set PORTCULLIS_ISSUER and API_AUDIENCE")

    app.extensions["token_verifier"] = TokenVerifier(
        issuer,
        audience,
        app.config["API_INTROSPECTION_ID"],
        app.config["API_INTROSPECTION_SECRET"],
    )
    orders = OrderStore()

    def protected_resource_metadata():
        # RFC 9728 §3: how a client learns which authorization server to ask, and for
        # which scopes, from the API itself.
        return jsonify(
            resource=audience,
            authorization_servers=[issuer],
            scopes_supported=SCOPES,
            bearer_methods_supported=["header"],
        )

    app.add_url_rule(WELL_KNOWN_METADATA, view_func=protected_resource_metadata)
    if metadata_path(audience) != WELL_KNOWN_METADATA:
        app.add_url_rule(
            metadata_path(audience),
            endpoint="protected_resource_metadata_for_path",
            view_func=protected_resource_metadata,
        )

    @app.get("/orders")
    @require_token(scope="orders:read")
    def list_orders():
        return jsonify(orders=orders.all())

    @app.post("/orders")
    @require_token(scope="orders:write")
    def create_order():
        body = request.get_json(silent=True)
        item = body.get("item") if isinstance(body, dict) else None
        quantity = body.get("quantity", 1) if isinstance(body, dict) else None
        if not isinstance(item, str) or not item.strip():
            return jsonify(error="invalid_request", error_description="item is required"), 400
        if type(quantity) is not int or not 1 <= quantity <= 1000:
            return jsonify(error="invalid_request", error_description="quantity: 1 to 1000"), 400
        order = orders.add({"item": item.strip(), "quantity": quantity}, g.token["sub"])
        return jsonify(order), 201

    @app.get("/orders/<int:order_id>/live")
    @require_token(scope="orders:read", introspect=True)
    def live_order(order_id: int):
        order = orders.get(order_id)
        if order is None:
            return jsonify(error="not_found"), 404
        return jsonify(order)

    @app.get("/admin/stats")
    @require_token(role=ADMIN_ROLE)
    def admin_stats():
        all_orders = orders.all()
        return jsonify(
            orders=len(all_orders),
            items=sum(o["quantity"] for o in all_orders),
            asked_by=g.token["sub"],
        )

    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=int(os.environ.get("PORT", "8081")))
