"""The shop's team: roles (owner, editor, customer service) and the people who hold them.

Not a Django app: its permissions live on storefront.Listing's Meta, its groups are made by
storefront's migration 0004, and its admin pages are registered in storefront.wagtail_hooks.
"""
