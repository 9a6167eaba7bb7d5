"""Share posters (分享海报): one PNG per listing and share link — the product photo, the price
(a running campaign's when there is one), the title, the shop's name and a QR code of the link —
drawn with Pillow once and kept in the shop's media (the same inputs never draw it twice)."""
