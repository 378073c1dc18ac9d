"""Human resources and social security (人社): the HR API."""

from connectors.hr_api.connector import HrApiConnector, HrApiSettings

__all__ = ["HrApiConnector", "HrApiSettings"]
