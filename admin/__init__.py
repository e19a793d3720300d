"""The admin web UI: a server-rendered Flask blueprint at /admin/ over the hub's API and
services (Chinese first, English with ?lang=en)."""

from .blueprint import admin_blueprint
from .views import register_views

register_views()

__all__ = ["admin_blueprint"]
