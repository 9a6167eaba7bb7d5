"""Shares that look right inside WeChat: the JS-SDK config for a shop page (/wx/jsconfig) and
the share card of each page (title, description, image, link) that storefront/wxshare.js hands
to WeChat. The cached page carries no fan's data: her own link comes from the JSON endpoint."""
