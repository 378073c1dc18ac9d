"""Every connector honours the SDK contract, over a small generated demo county (no sample files needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.demo import CountyManifest
from connectors.demo.fake_hr import FakeHrServer
from connectors.gazetteer import GazetteerConnector, GazetteerSettings
from connectors.hr_api import HrApiConnector, HrApiSettings
from connectors.hr_migrant_register import MigrantRegisterConnector, RegisterSettings
from connectors.publicity import PublicityConnector, PublicitySettings
from connectors.sdk.base import Connector
from connectors.sdk.testing import ConnectorContract
from tests.connectors.conftest import HR_KEY

County = tuple[Path, CountyManifest]
Factory = Callable[[], Connector[Any]]


class TestGazetteer(ConnectorContract):
    """The gazetteer file into the region table."""

    @pytest.fixture
    def make_connector(self, county: County) -> Factory:
        return lambda: GazetteerConnector(GazetteerSettings(path=county[0] / "gazetteer.csv"))


class TestCivilAffairs(ConnectorContract):
    """The civil-affairs database: residents, enrolments, service items."""

    @pytest.fixture
    def make_connector(self, county: County) -> Factory:
        url = SecretStr(f"sqlite:///{county[0] / 'civil_affairs.sqlite'}")
        return lambda: CivilAffairsConnector(CivilAffairsSettings(url=url, batch_size=250))


class TestHrApi(ConnectorContract):
    """The HR API over HTTP from the fake server."""

    @pytest.fixture
    def make_connector(self, county_hr: FakeHrServer) -> Factory:
        county_hr.reset()
        settings = HrApiSettings(base_url=county_hr.url, api_key=SecretStr(HR_KEY), page_size=100)
        return lambda: HrApiConnector(settings)


class TestMigrantRegister(ConnectorContract):
    """The monthly GBK register files."""

    @pytest.fixture
    def make_connector(self, county: County) -> Factory:
        return lambda: MigrantRegisterConnector(RegisterSettings(directory=county[0], batch_size=100))


class TestPublicity(ConnectorContract):
    """The RSS notice feed from a file."""

    @pytest.fixture
    def make_connector(self, county: County) -> Factory:
        return lambda: PublicityConnector(PublicitySettings(url=str(county[0] / "publicity_feed.xml")))
