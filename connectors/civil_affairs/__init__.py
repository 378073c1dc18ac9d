"""Civil affairs (民政): residents, social-assistance enrolments and service items."""

from connectors.civil_affairs.connector import CivilAffairsConnector, CivilAffairsSettings

__all__ = ["CivilAffairsConnector", "CivilAffairsSettings"]
