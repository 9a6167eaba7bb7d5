"""The UI is zh-hans first: every message of the project is translated, and the creator's Wagtail
admin speaks Chinese (our catalog overrides Wagtail's where it mistranslates or lacks a string),
names the shop instead of "Wagtail"/"VStore", and calls nothing blocked in mainland China.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation
from django_tenants.utils import tenant_context

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# What `make messages` scans: the project's source, not the tests, benchmarks or data.
SKIP = {"var", "tests", "bench", "locale", "node_modules", "__pycache__", "vstore.egg-info"}


def _fresh_catalog(tmp_path: Path) -> Path:
    """The catalog makemessages would make from today's source, built in a copy of the tree.

    makemessages writes next to the files it scans (the first locale/ above them); in a copy
    outside the project it can never touch the committed catalog.
    """
    assert ROOT not in tmp_path.parents
    tree = tmp_path / "src"
    shutil.copytree(
        ROOT,
        tree,
        ignore=lambda _dir, names: [
            n for n in names if n in SKIP or n.startswith(".") or n.endswith((".pyc", ".mo", ".po"))
        ],
    )
    (tree / "locale").mkdir()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "makemessages", "-l", "zh_Hans"],
        cwd=tree,
        check=True,
        capture_output=True,
    )
    return tree / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries_at(report: str) -> list[str]:
    """The msgids msgcmp's REPORT points at (file:line), for a readable failure."""
    found = []
    for path, number in re.findall(r"^(.+?):(\d+): this message is (?!not used)", report, re.M):
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        start = int(number) - 1
        while start > 0 and lines[start - 1].strip():  # back to the entry's first line
            start -= 1
        entry = []
        for line in lines[start:]:
            if line.startswith("msgstr"):
                break
            if not line.startswith("#"):
                entry.append(line)
        found.append(" ".join(entry))
    return found


def test_every_message_of_the_project_has_a_checked_chinese_translation(tmp_path):
    fresh = _fresh_catalog(tmp_path)

    # msgcmp counts untranslated and fuzzy entries of our catalog as missing, so this fails for
    # a new string nobody ran `make messages` for, an empty msgstr and a "#, fuzzy" guess alike.
    compared = subprocess.run(
        ["msgcmp", str(PO), str(fresh)], capture_output=True, text=True, check=False
    )
    checked = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert compared.returncode == 0, "untranslated, fuzzy or missing (run `make messages`):\n" + (
        "\n".join(_entries_at(compared.stderr))
    )
    assert checked.returncode == 0, checked.stderr
    assert "untranslated" not in checked.stderr and "fuzzy" not in checked.stderr, checked.stderr


def test_messages_with_two_meanings_are_told_apart():
    with translation.override("zh-hans"):
        assert translation.pgettext("a buyer's review of goods", "Review") == "评价"
        assert translation.gettext("Review") == "审核"  # staff vetting a product
        # Our catalog comes first: a project msgid equal to one of Wagtail's would override it.
        assert translation.gettext("Pages") == "页面"
        assert translation.gettext("Pagination") == "分页"


@pytest.fixture
def shop_admin(shops, shop_client):
    """A creator logged in to shop A's Wagtail admin, reading it in Chinese."""
    with tenant_context(shops.a):
        user = get_user_model().objects.create_superuser(
            f"zh-creator-{get_user_model().objects.count()}", password="pw-zh-creator-1"
        )
        client = shop_client("a.localhost", HTTP_ACCEPT_LANGUAGE="zh-hans")
        client.force_login(user)  # the session and the user live in the shop's schema
    return client


def _sidebar_labels(html: str) -> list[str]:
    props = re.search(r'<script id="wagtail-sidebar-props"[^>]*>(.*?)</script>', html, re.S)
    assert props, "no sidebar on the page"
    return re.findall(
        r'"label": "([^"]*)"', json.dumps(json.loads(props.group(1)), ensure_ascii=False)
    )


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return " ".join(unescape(match.group(1)).split())


def test_the_shop_admin_dashboard_is_chinese_and_named_after_the_shop(shop_admin):
    page = shop_admin.get("/admin/")
    html = page.text

    assert page.status_code == 200
    assert "页面" in _sidebar_labels(html)  # Wagtail's own translation of the menu's "Pages"
    assert "分页" not in _sidebar_labels(html)
    assert _title(html).endswith("- Shop A")
    assert "Wagtail" not in _title(html)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert h1 and "Shop A" in h1.group(1) and "VStore" not in h1.group(1)
    # Strings Wagtail's zh_Hans catalog lacks, translated by ours (cms/wagtail_msgids.py).
    assert "个页面" in html and "Pages <span" not in html
    assert "搜索所有页面" in html and "Search all pages" not in html
    assert "显示键盘快捷键" in html and "Show keyboard shortcuts" not in html


def test_the_page_editor_offers_review_by_the_shop_owner_in_chinese(shops, shop_admin):
    from cms.models import ArticlePage

    with tenant_context(shops.a):
        article = ArticlePage.objects.get(slug="welcome")

    page = shop_admin.get(f"/admin/pages/{article.pk}/edit/")

    assert page.status_code == 200
    assert "Moderators" not in page.text
    assert "提交给店主审核" in page.text
    assert "内容统计" in page.text and "Content metrics" not in page.text
    assert "正文" in page.text  # the article's body field, named in Chinese
    assert "Wagtail" not in _title(page.text)


def test_the_shop_admin_login_page_names_the_shop(shops, shop_client):
    page = shop_client("a.localhost", HTTP_ACCEPT_LANGUAGE="zh-hans").get("/admin/login/")

    assert page.status_code == 200
    assert "Wagtail" not in _title(page.text)
    assert "Shop A" in page.text
    assert "Sign in to Wagtail" not in page.text


def test_the_shop_admin_calls_nothing_blocked_in_mainland_china(shop_admin):
    # Gravatar (avatars) and releases.wagtail.org (the dashboard's upgrade check) are
    # unreachable from mainland China: every admin page would wait for them.
    for url in ("/admin/", "/admin/account/", "/admin/pages/"):
        html = shop_admin.get(url, follow=True).text

        assert "gravatar.com" not in html, url
        assert "releases.wagtail.org" not in html, url
        assert 'data-controller="w-upgrade' not in html, url  # what makes the browser fetch it


def test_the_starter_site_is_chinese_only(shops, shop_client):
    home = shop_client("a.localhost").get("/")
    about = shop_client("a.localhost").get("/about/")
    article = shop_client("a.localhost").get("/welcome/")

    for page in (home, about, article):
        assert page.status_code == 200
        assert "Welcome to my shop" not in page.text
        assert "About me" not in page.text
        assert "My first article" not in page.text
        assert "This is your first article" not in page.text
    assert "关于我" in about.text


def test_the_platform_admin_names_every_model_in_chinese(shop_client):
    from django.contrib import admin

    staff = get_user_model().objects.create_superuser("zh-staff", password="pw-zh-staff-1")
    client = shop_client("localhost", HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(staff)

    page = client.get("/admin/")

    assert page.status_code == 200
    with translation.override("zh-hans"):
        names = {str(model._meta.verbose_name_plural) for model in admin.site._registry}
    english = sorted(name for name in names if not re.search(r"[\u4e00-\u9fff]", name))
    assert english == []  # a model without a translated verbose_name shows as "price changes"
    missing = sorted(name for name in names if name not in unescape(page.text))
    assert missing == []
