"""Platform coupons: funded by the platform with a budget, usable in every shop or a list."""
