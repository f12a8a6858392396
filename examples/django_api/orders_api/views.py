"""The Orders API's views."""

import itertools
import threading

from django.conf import settings
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from .authentication import IntrospectedTokenAuthentication
from .permissions import HasRole, HasScope

SCOPES = ["orders:read", "orders:write"]


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


orders = OrderStore()


class NewOrder(serializers.Serializer):
    item = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=1000, default=1)


class OrdersView(APIView):
    permission_classes = [HasScope]
    required_scopes = {"GET": "orders:read", "POST": "orders:write"}

    def get(self, request):
        return Response({"orders": orders.all()})

    def post(self, request):
        new = NewOrder(data=request.data)
        new.is_valid(raise_exception=True)
        order = orders.add(dict(new.validated_data), created_by=request.user.sub)
        return Response(order, status=status.HTTP_201_CREATED)


class LiveOrderView(APIView):
    """Asks Portcullis about the token on every request: a revoked token is refused
    at once, where a locally checked one stays valid until it expires."""

    authentication_classes = [IntrospectedTokenAuthentication]
    permission_classes = [HasScope]
    required_scopes = {"GET": "orders:read"}

    def get(self, request, order_id: int):
        order = orders.get(order_id)
        if order is None:
            return Response({"error": "not_found"}, status=status.HTTP_404_NOT_FOUND)
        return Response(order)


class AdminStatsView(APIView):
    permission_classes = [HasRole]
    required_role = "admin"

    def get(self, request):
        all_orders = orders.all()
        return Response(
            {
                "orders": len(all_orders),
                "items": sum(o["quantity"] for o in all_orders),
                "asked_by": request.user.sub,
            }
        )


class ProtectedResourceMetadataView(APIView):
    """RFC 9728 §3: how a client learns which authorization server to ask, and for
    which scopes, from the API itself. Public."""

    authentication_classes = []
    permission_classes = []

    def get(self, request):
        return Response(
            {
                "resource": settings.API_AUDIENCE,
                "authorization_servers": [settings.PORTCULLIS_ISSUER],
                "scopes_supported": SCOPES,
                "bearer_methods_supported": ["header"],
            }
        )
