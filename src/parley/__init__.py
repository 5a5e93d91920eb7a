"""Parley: a self-hosted toolkit for custom chatbots."""

__version__ = "0.1.0"
