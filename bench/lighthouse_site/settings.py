"""config.settings.base as deployed, with the shop's photos served as S3 or nginx would."""

from __future__ import annotations

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "lighthouse_site.urls"
