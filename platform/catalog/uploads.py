"""Checks on uploaded files: the name's extension, the bytes themselves, and the size.

An extension alone proves nothing (a renamed executable is still an executable), so images are
opened with Pillow and PDFs must start with the PDF magic bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

IMAGE_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000

IMAGE_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None


def _extension(name: str) -> str:
    return PurePath(name or "").suffix.lower().lstrip(".")


def _check_size(upload: UploadedFile, limit: int) -> int:
    size = upload.size or 0
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    if size > limit:
        raise ValidationError(
            _("The file is too large (%(size)d KB); the limit is %(limit)d KB.")
            % {"size": size // 1024, "limit": limit // 1024},
            code="too_large",
        )
    return size


def image_check(upload: UploadedFile) -> CheckedFile:
    """A JPEG, PNG or WebP image of at most 5 MB whose content matches its name."""
    ext = _extension(upload.name or "")
    if ext not in IMAGE_FORMATS:
        raise ValidationError(
            _("Upload a JPEG, PNG or WebP image (not .%(ext)s).") % {"ext": ext or "?"},
            code="bad_type",
        )
    size = _check_size(upload, IMAGE_MAX_BYTES)
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            fmt = image.format
            width, height = image.size
            if width * height > IMAGE_MAX_PIXELS:
                raise ValidationError(_("The image has too many pixels."), code="too_large")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(_("The file is not a readable image."), code="bad_type") from exc
    finally:
        upload.seek(0)
    if fmt != IMAGE_FORMATS[ext]:
        raise ValidationError(
            _("The file's content (%(fmt)s) does not match its name (.%(ext)s).")
            % {"fmt": fmt, "ext": ext},
            code="bad_type",
        )
    return CheckedFile(content_type=CONTENT_TYPES[fmt], size=size, width=width, height=height)


def document_check(upload: UploadedFile) -> CheckedFile:
    """A qualification document: a PDF, or a photo/scan as an image, at most 10 MB."""
    ext = _extension(upload.name or "")
    if ext in IMAGE_FORMATS:
        checked = image_check(upload)
        return checked
    if ext != "pdf":
        raise ValidationError(
            _("Upload a PDF or an image (JPEG, PNG, WebP), not .%(ext)s.") % {"ext": ext or "?"},
            code="bad_type",
        )
    size = _check_size(upload, DOCUMENT_MAX_BYTES)
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head != b"%PDF-":
        raise ValidationError(_("The file is not a PDF document."), code="bad_type")
    return CheckedFile(content_type="application/pdf", size=size)
