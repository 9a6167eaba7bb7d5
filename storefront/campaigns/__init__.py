"""What every campaign kind (flash sale, group buy, share price drop) shares with orders.

Orders know campaigns only through this package: a checkout that a campaign grants is a
`CampaignClaim`, and each kind registers a `CampaignKind` whose hooks orders call at the
moments that matter (placed, released unpaid, paid, fulfilled). The kinds themselves are apps
above orders (storefront.flash, storefront.groupbuy, storefront.pricedrop); this package is
below orders, so orders never import a kind.
"""
