"""Problem types register and document themselves: defining an error class is all it takes for its
`/problems/{slug}` page, its OpenAPI example and its Chinese title (Accept-Language: zh)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.errors import PROBLEM_JSON, GatewayError, NotFound, occurrence, problem_types
from gateway.openapi import problem_responses
from gateway.problem_json import wants_chinese
from tests.auth.helpers import auth_settings

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[TestClient]:
    """Return a client of a started app on a migrated, empty store."""
    db = tmp_path_factory.mktemp("problems") / "gateway.db"
    shutil.copyfile(_sqlite_template, db)
    with TestClient(create_app(auth_settings(f"sqlite:///{db}")), raise_server_exceptions=False) as c:
        yield c


def test_every_problem_type_documents_itself_in_english_and_chinese(client: TestClient) -> None:
    """Walk the registry: each type's URL answers 200, in English by default and in Chinese under zh."""
    assert len(problem_types()) >= 40
    titles_zh: set[str] = set()
    for cls in problem_types():
        for name in ("title_zh", "detail_zh", "example"):
            assert name in cls.__dict__, (cls.slug, name)  # its own, not its parent's
        assert CJK.search(cls.title_zh) and CJK.search(cls.detail_zh), cls.slug
        titles_zh.add(cls.title_zh)
        en = client.get(cls.type_uri())
        assert en.status_code == 200, cls.slug
        assert en.json()["title"] == cls.title and en.json()["status"] == cls.status
        assert en.json()["example"]["type"] == cls.type_uri() and en.json()["example"]["detail"]
        zh = client.get(cls.type_uri(), headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
        assert zh.status_code == 200 and zh.json()["title"] == cls.title_zh, cls.slug
        assert zh.json()["description"] == cls.detail_zh
    assert len(titles_zh) == len(problem_types())  # no two types share a Chinese title


def test_a_problem_answer_follows_accept_language(client: TestClient) -> None:
    """A refusal is in Chinese when the client prefers zh, in English otherwise (title and detail)."""
    zh = client.get("/v1/residents", headers={"Accept-Language": "zh"})
    assert zh.status_code == 401 and zh.headers["content-type"] == PROBLEM_JSON
    body = zh.json()
    assert body["type"] == "/problems/invalid-token" and body["title"] == "访问令牌无效"
    assert body["detail"] == "需要提供 Bearer 访问令牌。"  # this occurrence, as the raiser put it
    assert zh.headers["content-language"] == "zh" and "accept-language" in zh.headers["vary"].lower()
    en = client.get("/v1/residents", headers={"Accept-Language": "en-GB, zh;q=0.5"})
    assert en.json()["title"] == "Invalid bearer token" and en.headers["content-language"] == "en"
    plain = client.get("/v1/residents")
    assert plain.json()["title"] == "Invalid bearer token"
    # Problems written by middleware (here the audit middleware's header check) negotiate too.
    bad = client.get("/v1/residents", headers={"X-End-User": "x" * 300, "Accept-Language": "zh-Hans"})
    assert bad.status_code == 400 and bad.json()["title"] == "审计请求头无效"
    unknown = client.get("/no/such/route", headers={"Accept-Language": "zh-TW"})
    assert unknown.status_code == 404 and unknown.json()["title"] == NotFound.title_zh


@pytest.mark.parametrize(
    ("header", "chinese"),
    [
        (None, False),
        ("", False),
        ("zh", True),
        ("zh-CN", True),
        ("en", False),
        ("en, zh", False),  # equal weights: the first listed wins
        ("zh;q=0.4, en;q=0.6", False),
        ("fr, zh;q=0.1", True),  # of the languages we have, Chinese is the one asked for
        ("zh;q=0", False),
        ("*", False),
        ("zh;q=abc", False),
    ],
)
def test_language_negotiation(header: str | None, chinese: bool) -> None:
    """Accept-Language is read by weight (RFC 9110 §12.5.4); English is the default."""
    assert wants_chinese(header) is chinese


def test_defining_an_error_class_registers_and_documents_it(client: TestClient) -> None:
    """A new subclass with a slug is served at once, and its example builds its OpenAPI response."""

    class ParcelLocked(
        GatewayError,
        status=423,
        slug="test-parcel-locked",
        title="Parcel locked",
        title_zh="地块锁定中",
        detail_zh="该地块正在重新测绘。",
        example=occurrence("parcel 12 is being re-surveyed", parcel=12),
    ):
        """A test-only problem type: the parcel is being re-surveyed."""

    r = client.get("/problems/test-parcel-locked", headers={"Accept-Language": "zh"})
    assert r.status_code == 200 and r.json()["title"] == "地块锁定中"
    doc = problem_responses(ParcelLocked, NotFound)
    example = doc[423]["content"][PROBLEM_JSON]["examples"]["test-parcel-locked"]["value"]
    assert example["parcel"] == 12 and example["type"] == "/problems/test-parcel-locked"
    assert set(doc) == {423, 404}
    with pytest.raises(TypeError, match="must declare title_zh"):

        class Untranslated(
            GatewayError, status=400, slug="test-untranslated", title="Untranslated", example=occurrence("x")
        ):
            """A problem type without its Chinese title."""


def test_a_problem_type_declared_by_attributes_is_refused() -> None:
    """A slug set in the class body would never reach the registry, so defining such a class fails."""
    with pytest.raises(TypeError, match="by class keywords"):

        class Attributed(GatewayError):
            """A problem type that names its slug as an attribute."""

            slug = "test-attributed"
