"""The Orders API's routes: no trailing slashes, as API clients call them."""

from django.conf import settings
from django.urls import path

from . import views
from .authentication import WELL_KNOWN_METADATA, metadata_path

urlpatterns = [
    path("orders", views.OrdersView.as_view()),
    path("orders/<int:order_id>/live", views.LiveOrderView.as_view()),
    path("admin/stats", views.AdminStatsView.as_view()),
    path(WELL_KNOWN_METADATA.lstrip("/"), views.ProtectedResourceMetadataView.as_view()),
]

# RFC 9728 §3.1: for an identifier with a path (https://api.example.com/v1), the
# metadata is at /.well-known/oauth-protected-resource/v1.
if metadata_path(settings.API_AUDIENCE) != WELL_KNOWN_METADATA:
    urlpatterns.append(
        path(
            metadata_path(settings.API_AUDIENCE).lstrip("/"),
            views.ProtectedResourceMetadataView.as_view(),
        )
    )
