"""The bottom layer: money (integer fen), text safety, phone/e-mail normalisation, the current shop.

It imports nothing of the project (import-linter enforces it), so every other app may use it.
"""
