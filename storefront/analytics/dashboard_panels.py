"""An article's own figures in its editor (a tab of the ArticlePage editor, cms/models.py).

Imported by cms/models.py while Django loads its models, so this module imports no models at
load time: the selectors (and the models behind them) are imported when the panel renders.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import Panel

from storefront.team.roles import VIEW_MONEY, VIEW_ORDERS  # no models: safe while models load


class ArticleFiguresPanel(Panel):
    """Views, card impressions, card taps, and the orders that came from it with their GMV,
    for 7, 30 and 90 days.

    Orders are shown to those who may see orders (owner, customer service), their GMV to those
    who may see money; editors see what their writing does to readers: views, impressions and
    taps.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("heading", _("Figures of this article"))
        super().__init__(**kwargs)

    class BoundPanel(Panel.BoundPanel):
        template_name = "storefront/analytics/dashboard_article.html"

        def get_context_data(self, parent_context: dict | None = None) -> dict:
            from . import selectors

            context = super().get_context_data(parent_context)
            page_id = getattr(self.instance, "pk", None)
            context["saved"] = bool(page_id)
            context["with_orders"] = bool(self.request.user.has_perm(VIEW_ORDERS))
            context["with_money"] = bool(self.request.user.has_perm(VIEW_MONEY))
            if page_id:
                periods = [selectors.period_get(key) for key in ("7", "30", "90")]
                context["rows"] = [
                    (p.label, selectors.page_figures(page_id=page_id, period=p)) for p in periods
                ]
            return context
