"""File storage that keeps every shop's files under its own schema's prefix.

The prefix goes into the stored name itself (not only the path on disk), so a file's URL is right
whichever schema computes it: the shop's admin, the platform console or a Celery task.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from django.core.files.storage import FileSystemStorage, Storage
from storages.backends.s3 import S3Storage

from core.shop import current_schema


def schema_prefixed(name: str) -> str:
    schema = current_schema()
    if name.startswith(f"{schema}/"):
        return name
    return f"{schema}/{name}"


if TYPE_CHECKING:
    # The mixin is only ever put in front of a Storage: the type checker may see its methods.
    _StorageBase = Storage
else:
    _StorageBase = object


class SchemaPrefixMixin(_StorageBase):
    # Both entry points: model fields call generate_filename, while code that writes files
    # itself (PDF tasks, imports) calls save() directly and would otherwise skip the prefix.
    def generate_filename(self, filename: str | os.PathLike[str]) -> str:
        return super().generate_filename(schema_prefixed(os.fspath(filename)))

    def save(self, name: str | None, content, max_length: int | None = None) -> str:
        if name is None:
            name = content.name
        return super().save(schema_prefixed(name), content, max_length)


class ShopFileSystemStorage(SchemaPrefixMixin, FileSystemStorage):
    pass


class ShopS3Storage(SchemaPrefixMixin, S3Storage):
    pass
