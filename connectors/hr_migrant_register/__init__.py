"""The monthly migrant-worker register (外出务工人员登记表) of human resources (人社)."""

from connectors.hr_migrant_register.connector import MigrantRegisterConnector, RegisterSettings

__all__ = ["MigrantRegisterConnector", "RegisterSettings"]
