"""A creator's coupons in her shop: claims in fans' wallets and redemptions by orders."""
