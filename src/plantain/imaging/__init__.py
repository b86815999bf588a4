"""Decoding and validating input images, resizing and encoding outputs."""
