"""Plantain: a self-hosted image generation and editing service."""

__version__ = "0.1.0"
