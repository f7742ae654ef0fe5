"""The web side: JSON API, live updates, story pages, ops dashboard, health and metrics.

``views`` holds one class per route and ``register_views``; ``readmodel`` the in-memory read
model fed from the output topics; ``render`` and ``inputs`` the helpers for what goes out and
what comes in; ``openapi`` the API's description. The worker context is handed in; nothing here
imports the app module.
"""

from agents.web.views import feed_of, is_ready, register_views

__all__ = ["feed_of", "is_ready", "register_views"]
