"""Wagtail admin messages that Wagtail's own zh_Hans catalog leaves in English.

The creator's admin is zh-hans first, and these are on her everyday path: the dashboard, the page
explorer, the page editor's side panels, the image library. Our catalog (locale/, first in
LOCALE_PATHS) translates them, and a msgid of ours wins over the same msgid of Wagtail's: Django
merges the LOCALE_PATHS catalogs last. Each msgid must equal Wagtail's exactly (see its
wagtail/*/locale/en/LC_MESSAGES/django.po). Listed here only so that `make messages` extracts
and keeps them; nothing imports this module. tests/test_translations.py renders real admin pages.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop, ngettext_lazy

WAGTAIL_ADMIN_MSGIDS = [
    # dashboard
    ngettext_lazy(
        '%(total)s Page <span class="w-sr-only">created in %(site_name)s</span>',
        '%(total)s Pages <span class="w-sr-only">created in %(site_name)s</span>',
    ),
    ngettext_lazy(
        '%(total)s Image <span class="w-sr-only">created in %(site_name)s</span>',
        '%(total)s Images <span class="w-sr-only">created in %(site_name)s</span>',
    ),
    ngettext_lazy(
        '%(total)s Document <span class="w-sr-only">created in %(site_name)s</span>',
        '%(total)s Documents <span class="w-sr-only">created in %(site_name)s</span>',
    ),
    gettext_noop("Search all pages…"),
    gettext_noop("Wagtail %(current_version)s editor guide"),
    gettext_noop("Edit account avatar"),
    # page explorer
    gettext_noop("Exploring"),
    gettext_noop("Date updated"),
    gettext_noop("Edited by"),
    gettext_noop("Page type"),
    gettext_noop("Has child pages"),
    gettext_noop("Any"),
    # page editor
    ngettext_lazy("Referenced %(count)s time", "Referenced %(count)s times"),
    gettext_noop("Checks"),
    gettext_noop("Toggle checks"),
    gettext_noop("Content metrics"),
    gettext_noop("Words"),
    gettext_noop("Reading time"),
    gettext_noop("Readability"),
    gettext_noop("This data explained"),
    gettext_noop("Saved"),
    gettext_noop("Autosave is paused"),
    gettext_noop("Choose when this page should go live and/or expire"),
    gettext_noop("Choose who can view the live version of this page"),
    gettext_noop("Locking: "),
    gettext_noop("View latest version"),
    gettext_noop("Actions (footer)"),
    # keyboard shortcuts dialog (every admin page)
    gettext_noop("Show keyboard shortcuts"),
    gettext_noop("Keyboard shortcut"),
    gettext_noop("Application"),
    gettext_noop("Section"),
    gettext_noop("Save changes"),
    gettext_noop("Add or show comments"),
    gettext_noop("Toggle minimap"),
    gettext_noop("Close modal dialogs (like this one)"),
    gettext_noop("Text editing"),
    gettext_noop("Cut"),
    gettext_noop("Paste"),
    gettext_noop("Paste without formatting"),
    gettext_noop("Text formatting"),
    gettext_noop("Insert or edit a link"),
    gettext_noop("Monospace (code)"),
    gettext_noop("Strike-through"),
    # image library, workflows
    gettext_noop("Grid layout"),
    gettext_noop("List layout"),
    gettext_noop("Usage count: (low to high)"),
    gettext_noop("Usage count: (high to low)"),
    gettext_noop("Show disabled"),
]
