"""The PDF wrapper: real WeasyPrint bytes, Chinese text in embedded font subsets, and a URL
fetcher that reaches neither the network nor the machine's files."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.template.loader import render_to_string

from billing.documents.pdf import ASSETS_DIR, pdf_render, url_allowed

from .documents_helpers import pdf_fonts, pdf_text

CHINESE = "月度对账单：销售佣金 ¥1,234.56，退货冲回，发票抬头 纳税人识别号"


def page(body: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html><html lang="zh-Hans"><head><meta charset="utf-8">'
        # The documents' own stylesheet, so these tests check the fonts they really use.
        + render_to_string("documents/_pdf_style.html")
        + f"{head}</head><body>{body}</body></html>"
    )


def test_chinese_text_comes_out_exactly_from_embedded_font_subsets():
    pdf = pdf_render(html=page(f"<p>{CHINESE}</p>"))

    assert pdf.startswith(b"%PDF-")
    assert CHINESE in pdf_text(pdf)
    fonts = embedded_subsets(pdf)
    assert [name.split("+")[1] for name in fonts] == ["WenQuanYi-Micro-Hei"]


def test_a_rare_character_outside_the_main_font_falls_back_to_noto_and_is_not_lost():
    # 𠮷 (U+20BB7), common in names, is not in WenQuanYi Micro Hei; Noto CJK has it.
    name = "𠮷祥母婴店"
    pdf = pdf_render(html=page(f"<p>{name}</p>"))

    assert name in pdf_text(pdf)
    fonts = [name.split("+")[1] for name in embedded_subsets(pdf)]
    assert sorted(fonts) == ["Noto-Sans-CJK-SC", "WenQuanYi-Micro-Hei"]


def embedded_subsets(pdf: bytes) -> list[str]:
    """The PDF's font names, after checking each is an embedded subset."""
    rows = pdf_fonts(pdf)
    assert rows, "the PDF names its fonts"
    for row in rows:
        # name … emb sub uni object-id generation
        name, emb, sub = row[0], row[-5], row[-4]
        assert (emb, sub) == ("yes", "yes"), f"{name} is not an embedded subset"
    return [row[0] for row in rows]


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b'body::after { content: "FETCHED-FROM-NETWORK"; }')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server():
    _Recorder.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    server.shutdown()
    server.server_close()


def test_network_urls_are_never_fetched_and_the_pdf_still_renders(http_server):
    base, hits = http_server
    html = page(
        f'<p>图片之前</p><img src="{base}/logo.png"><p style="background: url({base}/bg.png)">'
        "背景</p>",
        head=f'<link rel="stylesheet" href="{base}/style.css">',
    )

    pdf = pdf_render(html=html, base_url=f"{base}/")

    assert hits == []
    text = pdf_text(pdf)
    assert "图片之前" in text and "背景" in text
    assert "FETCHED-FROM-NETWORK" not in text


def test_files_of_the_machine_are_never_read(tmp_path):
    secret = tmp_path / "leak.css"
    secret.write_text('body::after { content: "SECRET-FROM-DISK"; }')
    html = page(
        '<p>正文</p><img src="file:///etc/passwd"><object data="file:///etc/passwd"></object>',
        head=(
            f'<link rel="stylesheet" href="{secret.as_uri()}">'
            '<link rel="attachment" href="file:///etc/passwd">'
            '<link rel="stylesheet" href="../../../../etc/passwd">'
        ),
    )

    pdf = pdf_render(html=html)

    text = pdf_text(pdf)
    assert "正文" in text
    assert "SECRET-FROM-DISK" not in text
    # An attached /etc/passwd would be embedded as a file in the PDF.
    assert b"/EmbeddedFile" not in pdf
    assert b"root:" not in pdf


def test_data_urls_are_the_one_thing_a_document_may_load():
    css = "data:text/css,body::after{content:'FROM-DATA-URL'}"
    pdf = pdf_render(html=page("<p>正文</p>", head=f'<link rel="stylesheet" href="{css}">'))

    assert "FROM-DATA-URL" in pdf_text(pdf)


def test_only_data_urls_and_the_apps_own_asset_files_are_allowed():
    assert url_allowed("data:image/png;base64,iVBORw0KGgo=")
    assert not url_allowed("http://example.com/a.png")
    assert not url_allowed("https://169.254.169.254/latest/meta-data/")
    assert not url_allowed("ftp://example.com/x")
    assert not url_allowed("file:///etc/passwd")
    assert not url_allowed("file://otherhost/etc/passwd")
    assert not url_allowed((ASSETS_DIR / ".." / ".." / "pdf.py").as_uri())
    assert not url_allowed((ASSETS_DIR / "missing.png").as_uri())
