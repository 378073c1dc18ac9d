"""Publicity (宣传): the county media centre's notice feed."""

from connectors.publicity.connector import PublicityConnector, PublicitySettings

__all__ = ["PublicityConnector", "PublicitySettings"]
