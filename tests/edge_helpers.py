"""Django as the WSGI edges (storefront/flash/edge.py, storefront/pricedrop/edge.py) wrap it,
called in the test's own thread."""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


class DjangoInTheTest(WSGIHandler):
    """Django's WSGI handler as Django's test client runs it: a request's start and end do not
    close old connections. The test's connection is inside its transaction (autocommit off),
    which that rule takes for a broken connection and closes under the test."""

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = super().__call__(environ, start_response)
            body = list(response)
            response.close()  # request_finished, as the server would send it
            return body
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
