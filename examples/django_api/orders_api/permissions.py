"""Scope and role checks on the token (RFC 6750 §3.1 `insufficient_scope`).

Both deny a request without a valid token (DRF then answers 401 with the challenge of
the authentication class) and answer 403 with `WWW-Authenticate: Bearer
error="insufficient_scope"` when the token lacks what the view requires.
"""

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from .authentication import granted_roles, granted_scopes


class InsufficientScope(PermissionDenied):
    """403 with an RFC 6750 challenge: DRF's exception handler sends `auth_header`."""

    def __init__(self, detail: dict, challenge: str):
        super().__init__(detail)
        self.auth_header = challenge


class HasScope(BasePermission):
    """The token grants the scope the view requires for this method, named in the
    view's `required_scopes`, e.g. `{"GET": "orders:read", "POST": "orders:write"}`.
    A method the view does not list is refused."""

    def has_permission(self, request, view):
        if not isinstance(request.auth, dict):
            return False  # no valid token: 401
        scope = getattr(view, "required_scopes", {}).get(request.method)
        if scope is None:
            return False
        if scope not in granted_scopes(request.auth):
            description = f"the {scope} scope is required"
            raise InsufficientScope(
                {"error": "insufficient_scope", "error_description": description, "scope": scope},
                f'Bearer error="insufficient_scope", scope="{scope}", '
                f'error_description="{description}"',
            )
        return True


class HasRole(BasePermission):
    """The token's `roles` claim (RFC 9068 §2.2.3.1) holds the view's `required_role`.

    The role is read from the verified token (`request.auth`): not from a JWT decoded
    with a secret hard-coded in the API, nor without verification, nor from anything
    else the caller can set (a header, a query parameter)."""

    def has_permission(self, request, view):
        if not isinstance(request.auth, dict):
            return False  # no valid token: 401
        role = view.required_role
        if role not in granted_roles(request.auth):
            description = f"the {role} role is required"
            raise InsufficientScope(
                {"error": "insufficient_scope", "error_description": description, "role": role},
                f'Bearer error="insufficient_scope", error_description="{description}"',
            )
        return True
