"""Never log a token, an identity number or a record's content (the brief), whatever level
the deployment's root logger is set to: the database drivers log bound parameters at DEBUG
(aiosqlite) and SQLAlchemy's engine logs statements with their parameters at INFO, so the
app caps those loggers itself."""

from __future__ import annotations

import logging

import pytest

from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, report_input

READ = "query($n: String!) { offenders(filter: {idNumber: $n}) { edges { node { name } } } }"


async def test_nothing_secret_is_logged_even_with_the_root_logger_at_debug(
        registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    value = report_input(defendant={"name": "Zhao Secretname"})
    number = value["defendant"]["idNumber"]
    token = registry.token(*JUDGE)
    assert "errors" not in await registry.gql(REPORT, {"input": value}, as_=token)
    body = await registry.gql(READ, {"n": number}, as_=CLERK_DONGCHENG)
    assert body["data"]["offenders"]["edges"][0]["node"]["name"] == "Zhao Secretname"
    for secret in (number, "Zhao Secretname", token, value["judgmentNumber"]):
        assert secret not in caplog.text


def test_the_driver_loggers_are_capped_whatever_the_root_level(registry: Registry) -> None:
    assert logging.getLogger("aiosqlite").getEffectiveLevel() >= logging.INFO
    assert logging.getLogger("sqlalchemy.engine").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("psycopg").getEffectiveLevel() >= logging.INFO
