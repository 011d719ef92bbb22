"""Podium server: a self-hosted, Kaggle-style competition platform."""

__version__ = "0.1.0"
