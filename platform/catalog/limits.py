"""Business bounds of catalog numbers, well inside what their columns hold.

A PostgreSQL integer column takes up to 2,147,483,647; a number above it used to reach the
database and come back as a 500. These bounds are the sane ones for goods sold to consumers, so
a typo (an extra zero, "1e9") is a clear error at the form and in the services alike.
"""

from __future__ import annotations

PRICE_MAX_FEN = 100_000_000  # ¥1,000,000.00 for one unit
FEE_MAX_FEN = 1_000_000  # ¥10,000.00 delivery fee for one parcel
STOCK_MAX = 10_000_000  # units of one SKU on the shelf
WEIGHT_MAX_G = 1_000_000  # one tonne
IMAGES_MAX = 20  # images of one product, shown and waiting for review together
