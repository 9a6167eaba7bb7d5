"""The production settings plus one bare view, for bench/storefront.py's gunicorn."""
