"""WeChat official account (服务号), server side: access_token, JS-SDK ticket and signature, OAuth.

Buyers who open a shop inside WeChat are identified by the official account's silent web
authorisation (snsapi_base → openid), and pages that call the JS-SDK are configured with a
signature made from the account's jsapi_ticket. This app talks to WeChat; what the shops do
with an openid is decided higher up. It imports only `core`, Django and libraries.
"""
