"""{% wx_share title=… description=… image=… link=… listing=… %}: the page's share card for
WeChat (a JSON script element read by storefront/wxshare.js). Missing values come from the
page's context (storefront.wxshare.share); nothing in it is per fan, so cached pages may hold it."""

from __future__ import annotations

from typing import Any

from django import template
from django.template import Context

from storefront.wxshare.share import share_data
from wechat import client

register = template.Library()


@register.inclusion_tag("storefront/wxshare/share.html", takes_context=True)
def wx_share(
    context: Context,
    title: str = "",
    description: str = "",
    image: str = "",
    link: str = "",
    listing: Any = None,
) -> dict[str, Any]:
    share = share_data(
        context, title=title, description=description, image=image, link=link, listing=listing
    )
    # The script asks /wx/jsconfig, which can only answer when an official account is set up.
    return {"share": share, "script": share is not None and client.configured()}
