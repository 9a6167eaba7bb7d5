"""A shop's buyer pages (included before Wagtail's catch-all in config/urls_tenant.py).

Each sub-app keeps its own routes; they share the "storefront" namespace, so a page's name says
what it is ("storefront:order_detail") whichever sub-app serves it.
"""

from __future__ import annotations

from .aftersale.urls import urlpatterns as aftersale
from .analytics.urls import urlpatterns as analytics
from .coupons.urls import urlpatterns as coupons
from .fans.rights_urls import urlpatterns as fan_rights
from .fans.urls import urlpatterns as fans
from .flash.urls import urlpatterns as flash
from .groupbuy.urls import urlpatterns as groupbuy
from .orders.urls import urlpatterns as orders
from .posters.urls import urlpatterns as posters
from .pricedrop.urls import urlpatterns as pricedrop
from .reviews.urls import urlpatterns as reviews
from .sharing.urls import urlpatterns as sharing
from .wechat.urls import urlpatterns as wechat
from .wxshare.urls import urlpatterns as wxshare

app_name = "storefront"

urlpatterns = [*orders, *aftersale, *reviews, *sharing, *fans, *coupons, *fan_rights, *analytics]
urlpatterns += [*flash, *groupbuy, *pricedrop, *wxshare, *posters]
urlpatterns += wechat  # /wx/oauth/callback, /wx/dev/authorize (storefront.wechat)
