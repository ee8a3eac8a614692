"""Image work: format detection by magic bytes, and reading what an image is.

`formats` is pure and cheap; `probe` imports Pillow, so only code that decodes
images imports it (the imaging layer is attached only to those functions).
"""
