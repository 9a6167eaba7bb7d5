"""Share posters (storefront/posters): a PNG per listing and share link — photo, price, title,
shop name, a QR code of the link — drawn once, kept under the shop's own media prefix, reused."""

from __future__ import annotations

import io
import secrets

import pytest
import segno
from django_tenants.utils import tenant_context
from PIL import Image

from storefront.campaigns.registry import campaign_price_now
from storefront.models import Fan, Listing, ShareLink
from storefront.posters import render
from storefront.posters.fonts import cjk_font_file, poster_font
from storefront.sharing.services import share_code_new

from .a3_helpers import fan_signed_in
from .cms_helpers import get, listing_make
from .flash_helpers import sale_make

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("shops", "catalog_english"),
]


@pytest.fixture
def renders(monkeypatch) -> list[tuple]:
    """Every poster drawn (the real drawing, counted)."""
    drawn: list[tuple] = []
    real = render.poster_render

    def counted(listing, share_url, creator_name, **kw):
        drawn.append((listing.pk, share_url, creator_name, kw.get("price_fen"), kw.get("campaign")))
        return real(listing, share_url, creator_name, **kw)

    monkeypatch.setattr(render, "poster_render", counted)
    return drawn


def poster_url(listing_id) -> str:
    return f"/p/{listing_id}/poster.png"


def qr_text_matches(png: bytes, text: str) -> None:
    """The poster's QR code is TEXT's: every module (and the quiet zone around the code) is
    drawn as segno encodes TEXT, sampled at each module's centre."""
    image = Image.open(io.BytesIO(png)).convert("L")
    expected = segno.make(text, error="m").matrix
    n = len(expected)
    x0, y0, scale = render.qr_origin(n)
    assert scale >= 3, "modules too small to scan"

    def dark(x: int, y: int) -> bool:
        return image.getpixel((x, y)) < 128

    for r in range(-render.QUIET, n + render.QUIET):
        for c in range(-render.QUIET, n + render.QUIET):
            inside = 0 <= r < n and 0 <= c < n
            want = bool(expected[r][c]) if inside else False
            centre = (x0 + c * scale + scale // 2, y0 + r * scale + scale // 2)
            assert dark(*centre) == want, (r, c)


@pytest.mark.usefixtures("catalog_media")
def test_poster_is_a_png_of_the_expected_size_whose_qr_is_the_product_page(
    shops, shop_client, renders
):
    listing = listing_make(shops.a, title="宝宝辅食碗 吸盘防摔 一碗两用超长的标题会被折成两行显示")

    response = shop_client("a.localhost").get(poster_url(listing.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    image.verify()
    assert image.format == "PNG"
    assert image.size == (render.WIDTH, render.HEIGHT)
    link = f"http://a.localhost/shop/p/{listing.pk}/"
    qr_text_matches(response.content, link)
    assert renders == [(listing.pk, link, shops.a.name, 8800, False)]


@pytest.mark.usefixtures("catalog_media")
def test_a_signed_in_fans_poster_carries_her_own_share_link(shops, shop_client, renders):
    listing = listing_make(shops.a, title="她分享的")
    with tenant_context(shops.a):
        her = Fan.objects.create(mobile=f"139{secrets.randbelow(10**8):08d}")
        code = share_code_new()
        ShareLink.objects.create(code=code, listing=listing, sharer=her)
    client = shop_client("a.localhost")
    fan_signed_in(shops.a, client, her.pk)

    response = client.get(poster_url(listing.pk))

    assert response.status_code == 200
    qr_text_matches(response.content, f"http://a.localhost/s/{code}/")


def test_a_poster_is_stored_once_under_the_shops_prefix_and_reused(
    shops, shop_client, renders, catalog_media
):
    listing = listing_make(shops.a, title="只画一次")

    first = shop_client("a.localhost").get(poster_url(listing.pk))
    second = shop_client("a.localhost").get(poster_url(listing.pk))

    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert len(renders) == 1  # the second came from storage
    stored = list((catalog_media / shops.a.schema_name / "posters" / str(listing.pk)).iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == first.content
    assert not (catalog_media / shops.b.schema_name / "posters").exists()
    assert list(catalog_media.glob("*/posters/**/*.png")) == stored

    # Another link (a fan's) is another poster; the plain one is still reused.
    with tenant_context(shops.a):
        her = Fan.objects.create(mobile=f"139{secrets.randbelow(10**8):08d}")
        ShareLink.objects.create(code=share_code_new(), listing=listing, sharer=her)
    client = shop_client("a.localhost")
    fan_signed_in(shops.a, client, her.pk)
    assert client.get(poster_url(listing.pk)).status_code == 200
    assert shop_client("a.localhost").get(poster_url(listing.pk)).status_code == 200
    assert len(renders) == 2


def test_posters_on_s3_are_kept_under_the_shops_prefix(shops, shop_client, renders, catalog_s3):
    s3, bucket = catalog_s3
    listing = listing_make(shops.a, title="存在S3")

    for _ in range(2):
        response = shop_client("a.localhost").get(poster_url(listing.pk))
        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.content)).size == (render.WIDTH, render.HEIGHT)

    assert len(renders) == 1
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="shop_")["Contents"]]
    posters = [k for k in keys if "/posters/" in k]
    assert len(posters) == 1
    assert posters[0].startswith(f"{shops.a.schema_name}/posters/{listing.pk}/")


@pytest.mark.usefixtures("catalog_media")
def test_shop_b_never_gets_shop_as_listing_poster(shops, shop_client, renders):
    listing = listing_make(shops.a, title="只在A店")
    with tenant_context(shops.b):
        Listing.objects.filter(pk=listing.pk).delete()  # B has no listing of that number

    response = shop_client("b.localhost").get(poster_url(listing.pk))

    assert response.status_code == 404
    assert renders == []


@pytest.mark.usefixtures("catalog_media")
@pytest.mark.parametrize(
    "path",
    [
        "/p/0/poster.png",
        "/p/987654321/poster.png",
        "/p/99999999999999999999/poster.png",
        "/p/1%00/poster.png",
        "/p/%00/poster.png",
        "/p/-1/poster.png",
        "/p/abc/poster.png",
        "/p/1/poster.png%00",
    ],
)
def test_bad_listing_ids_are_404_not_500(shop_client, path, renders):
    response = shop_client("a.localhost").get(path)

    assert response.status_code == 404
    assert renders == []


@pytest.mark.usefixtures("catalog_media")
def test_an_unlisted_listing_has_no_poster(shops, shop_client, renders):
    listing = listing_make(shops.a, title="下架了")
    with tenant_context(shops.a):
        Listing.objects.filter(pk=listing.pk).update(is_active=False)

    assert shop_client("a.localhost").get(poster_url(listing.pk)).status_code == 404
    assert renders == []


@pytest.mark.usefixtures("catalog_media")
def test_a_running_campaigns_price_is_printed(shops, shop_client, renders):
    sale = sale_make(shops.a, price=6600)
    listing_id = sale.item.listing_id
    with tenant_context(shops.a):
        assert campaign_price_now(listing_id=listing_id) == 6600

    response = shop_client("a.localhost").get(poster_url(listing_id))

    assert response.status_code == 200
    assert renders[0][3:] == (6600, True)


@pytest.mark.usefixtures("catalog_media")
def test_posters_are_rate_limited_per_client(shops, shop_client, settings, renders):
    # A day's window: a minute's could turn between the requests (django-ratelimit's windows
    # start at an offset of their own) and let the third through.
    settings.VSTORE_RATES = {**settings.VSTORE_RATES, "poster": "2/d"}
    listing = listing_make(shops.a, title="限流")
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    client = shop_client("a.localhost", REMOTE_ADDR=address)

    codes = [client.get(poster_url(listing.pk)).status_code for _ in range(3)]

    assert codes == [200, 200, 429]


@pytest.mark.usefixtures("catalog_media")
def test_the_product_page_offers_the_poster(shops, shop_client):
    listing = listing_make(shops.a, title="可以生成海报")

    html = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text

    assert f'href="/p/{listing.pk}/poster.png"' in html
    assert "Make a share poster" in html


def test_titles_are_drawn_with_a_cjk_font_and_wrapped():
    assert cjk_font_file(False) is not None, "install fonts-noto-cjk (scripts/system-deps.sh)"
    font = poster_font(34)
    family = font.getname()[0]
    assert "CJK" in family or "WenQuanYi" in family
    lines = render._wrap("宝宝辅食碗" * 20, font, 400, 2)
    assert len(lines) == 2 and lines[1].endswith("…")
    assert all(font.getlength(line) <= 400 for line in lines)
    assert render._wrap("短标题", font, 400, 2) == ["短标题"]
