"""Routes of flash (included in the storefront namespace).

/flash/grab and /flash/status/<id> are not here: edge.FlashEdge answers them in front of
Django (config/wsgi.py), and no pattern below matches them.
"""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("flash/<int:sale_id>/", views.sale_view, name="flash_sale"),
    path("flash/<int:sale_id>/register/", views.register_view, name="flash_register"),
    path("flash/<int:sale_id>/token/", views.token_view, name="flash_token"),
    path("flash/<int:sale_id>/won/", views.won_view, name="flash_won"),
]
