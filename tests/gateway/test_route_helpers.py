"""The shared route helpers: one declaration of an operation, a page's first-item link, get-or-404."""

from __future__ import annotations

import pytest

from gateway.errors import Conflict, NotFound, ValidationFailed, or_not_found
from gateway.openapi import first_item, link, links, problem_responses
from gateway.routing import ACTION_PROBLEMS, operation


def test_operation_declares_summary_model_guard_and_problems_in_order() -> None:
    guard = [object()]
    declared = operation("Close it", *ACTION_PROBLEMS, model=dict, guard=guard, status_code=202)
    assert declared == {
        "summary": "Close it",
        "status_code": 202,
        "response_model": dict,
        "dependencies": guard,
        "responses": problem_responses(NotFound, Conflict, ValidationFailed),
    }
    assert list(declared["responses"]) == [404, 409, 422]


def test_operation_puts_further_responses_after_the_problems() -> None:
    more = links(200, GetIt=first_item("/v1/things/{thing_id}", param="thing_id", what="thing"))
    declared = operation("List things", NotFound, responses=more)
    assert list(declared["responses"]) == [404, 200]
    assert declared["responses"][200] == more[200]


def test_operation_without_problems_or_responses_leaves_them_to_fastapi() -> None:
    assert operation("Health") == {"summary": "Health"}


def test_first_item_links_to_the_first_item_of_the_page() -> None:
    made = first_item("/v1/regions/{code}", param="code", what="region", field="code")
    assert made == link(
        "get", "/v1/regions/{code}", {"code": "$response.body#/items/0/code"}, "The first region of the page."
    )


def test_or_not_found_returns_what_exists_even_when_falsy() -> None:
    assert or_not_found(0, "no zero") == 0
    assert or_not_found("", "no text") == ""


def test_or_not_found_raises_not_found_with_the_detail() -> None:
    with pytest.raises(NotFound) as raised:
        or_not_found(None, "no request Q1")
    assert raised.value.detail == "no request Q1"
