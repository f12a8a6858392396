"""Bearer-token authentication for Django REST framework: Portcullis access tokens.

`PortcullisTokenAuthentication` checks the access token (a JWT, RFC 9068) locally,
against the keys Portcullis publishes: no call to Portcullis per request.
`IntrospectedTokenAuthentication` then asks Portcullis too (introspection, RFC 7662),
for views that must refuse a revoked token at once.

Both answer RFC 6750 §3 challenges in `WWW-Authenticate`; `permissions.py` turns a
missing scope or role into a 403 `insufficient_scope`.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import cache
from urllib.parse import quote_plus, urlsplit, urlunsplit

import jwt
import requests
from django.conf import settings
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed

logger = logging.getLogger(__name__)

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


# Django REST framework --------------------------------------------------------------


@cache
def get_verifier() -> TokenVerifier:
    """One verifier (and JWKS cache) per process, from the settings."""
    return TokenVerifier(
        settings.PORTCULLIS_ISSUER,
        settings.API_AUDIENCE,
        settings.API_INTROSPECTION_ID,
        settings.API_INTROSPECTION_SECRET,
    )


class ServiceUnavailable(APIException):
    status_code = 503
    default_detail = "cannot check tokens now"
    default_code = "temporarily_unavailable"


class TokenUser:
    """The caller, as the token describes it: no Django user model is involved."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, claims: dict):
        self.claims = claims
        self.sub = claims.get("sub")
        self.client_id = claims.get("client_id")

    def __str__(self):
        return str(self.sub)


class PortcullisTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token>`, checked locally. Sets `request.user` to a
    `TokenUser` and `request.auth` to the token's claims."""

    def check(self, token: str) -> dict:
        return get_verifier().verify(token)

    def authenticate(self, request):
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None  # no credentials: the permission classes answer 401
        try:
            claims = self.check(token)
        except InvalidToken as e:
            # DRF asks authenticate_header() for the challenge; it reads this.
            request.invalid_token_description = str(e)
            raise AuthenticationFailed(
                {"error": "invalid_token", "error_description": str(e)}
            ) from None
        except IssuerUnavailable as e:
            logger.error("cannot check tokens: %s", e)
            raise ServiceUnavailable(
                {"error": "temporarily_unavailable", "error_description": "cannot check tokens now"}
            ) from None
        return TokenUser(claims), claims

    def authenticate_header(self, request):
        """The RFC 6750 §3 challenge of every 401 of the views using this class."""
        description = getattr(request, "invalid_token_description", None)
        if description is not None:
            return f'Bearer error="invalid_token", error_description="{quoted(description)}"'
        # §3.1: a request without credentials gets no error code. RFC 9728 §5.1: point
        # the client at this API's metadata, which names the authorization server.
        audience = settings.API_AUDIENCE
        metadata = metadata_url(audience, request.build_absolute_uri("/"))
        return f'Bearer realm="{quoted(audience)}", resource_metadata="{metadata}"'


class IntrospectedTokenAuthentication(PortcullisTokenAuthentication):
    """Like `PortcullisTokenAuthentication`, then asks Portcullis about the token too,
    so a revoked one is refused at once."""

    def check(self, token: str) -> dict:
        # Checked locally first, so a forged or foreign token costs Portcullis nothing.
        claims = super().check(token)
        get_verifier().introspect(token)
        return claims
