from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

django_application = get_wsgi_application()

# A flash sale's 抢购 presses and live status, and a price drop's share links, are answered in
# front of Django's middleware (storefront/flash/edge.py: ≈3× the requests a second of the
# full stack; storefront/pricedrop/edge.py); every other path goes on to Django. Imported after
# setup: the edges read settings and, on a miss, Domain rows.
from storefront.flash.edge import FlashEdge  # noqa: E402
from storefront.pricedrop.edge import PriceDropEdge  # noqa: E402

application = FlashEdge(PriceDropEdge(django_application))
