"""Issue 14 item 6: one log line per request, to follow a request by, and nothing in it that
the registry must never log (a token, an identity number, a name, a record's content)
whatever the query, its variables or its headers hold. The lines are the app's own, written
through the JSON formatter `registry serve` configures (api/logs.py); a served process's
lines are checked in tests/api/test_served_observability.py."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from api.cli import main
from api.logs import JsonFormatter, TextFormatter
from api.observe import REQUEST_LOGGER
from api.settings import Settings, SettingsError
from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, report_input

FIELDS = {"time", "level", "logger", "message", "request_id", "method", "path", "status",
          "duration_ms", "sub", "role", "operation", "outcome", "cost"}


@pytest.fixture
def request_log() -> Iterator[io.StringIO]:
    """The request lines, as `registry serve` writes them (JSON), and every other logger's
    at DEBUG too, so that anything the app would log at any level is in the text."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def request_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == REQUEST_LOGGER]


async def test_each_request_writes_one_json_line_with_its_id_operation_requester_status_and_cost(
        registry: Registry, request_log: io.StringIO) -> None:
    response = await registry.http.post(
        "/graphql", json={"query": "query WhoAmI { me { sub role } }"},
        headers={"Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}",
                 "X-Request-ID": "portal-7f3a.42"})
    assert response.status_code == 200, response.text
    refused = await registry.http.post("/graphql", json={"query": "{ me { sub } }"})
    assert refused.status_code == 401

    answered, unauthenticated = request_lines(request_log)
    assert set(answered) == FIELDS
    assert {key: answered[key] for key in FIELDS - {"time", "duration_ms"}} == {
        "level": "INFO", "logger": REQUEST_LOGGER, "message": "request",
        "request_id": "portal-7f3a.42", "method": "POST", "path": "/graphql", "status": 200,
        "sub": "clerk.dongcheng", "role": "registry_clerk", "operation": "WhoAmI",
        "outcome": "ok", "cost": response.json()["extensions"]["cost"]["actualQueryCost"]}
    assert isinstance(answered["duration_ms"], float) and answered["duration_ms"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", answered["time"])
    assert unauthenticated["request_id"] == refused.headers["x-request-id"]
    assert (unauthenticated["status"], unauthenticated["sub"], unauthenticated["operation"]) \
        == (401, None, None)


async def test_the_request_line_never_holds_an_identity_number_a_name_or_the_token(
        registry: Registry, request_log: io.StringIO) -> None:
    value = report_input(defendant={"name": "Zhao Secretname"})
    number = value["defendant"]["idNumber"]
    judge = registry.token(*JUDGE)
    clerk = registry.token(*CLERK_DONGCHENG)
    assert "errors" not in await registry.gql(REPORT, {"input": value}, as_=judge)
    literal = (f'query Q{number} {{ offenders(filter: {{idNumber: "{number}"}}) '
               '{ edges { node { name idNumber } } } }')
    attempts: list[tuple[dict[str, Any], str]] = [
        # The number and the name in the document, in variables, as an operation name.
        ({"query": literal}, clerk),
        ({"query": "query Find($n: String!) { offenders(filter: {idNumber: $n}) "
                   "{ edges { node { name } } } }", "variables": {"n": number}}, clerk),
        ({"query": "{ me { sub } }", "operationName": f"{number} Zhao Secretname"}, clerk),
        ({"query": f'{{ nosuchfield(name: "Zhao Secretname", id: "{number}") }}'}, clerk),
        # A token that does not verify, and one with the identity number in a bad place.
        ({"query": "{ me { sub } }"}, judge[:-4] + "AAAA"),
        ({"query": "{ me { sub } }"}, number),
    ]
    answers = []
    for payload, token in attempts:
        response = await registry.http.post("/graphql", json=payload, headers={
            "Authorization": f"Bearer {token}", "X-Request-ID": f"attack-{len(answers)}"})
        answers.append(response.text)
    assert "Zhao Secretname" in answers[0] and number in answers[0]  # the clerk may read it

    lines = request_lines(request_log)
    assert len(lines) == len(attempts) + 1
    assert [line["operation"] for line in lines[1:4]] == ["other", "Find", None]
    text = request_log.getvalue()
    for secret in (number, "Zhao Secretname", "Secretname", judge, clerk,
                   judge.split(".")[2], value["judgmentNumber"]):
        assert secret not in text


def test_the_text_format_keeps_the_fields_on_the_line() -> None:
    record = logging.LogRecord(REQUEST_LOGGER, logging.INFO, __file__, 1, "request", None,
                               None)
    record.__dict__.update({"request_id": "r-1", "status": 200, "sub": "clerk.dongcheng"})
    line = TextFormatter().format(record)
    assert line.endswith(" INFO registry.request request request_id=r-1 status=200 "
                         "sub=clerk.dongcheng")
    assert "\n" not in line


@pytest.mark.parametrize(("variable", "value"), [("REGISTRY_LOG_LEVEL", "LOUD"),
                                                 ("REGISTRY_LOG_FORMAT", "xml")])
def test_a_bad_log_setting_stops_start_up_naming_it(
        variable: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({variable: value})
    assert refused.value.variable == variable
    flag = "--log-level" if variable.endswith("LEVEL") else "--log-format"
    assert main(["serve", flag, value]) == 2
    assert variable in capsys.readouterr().err
    assert Settings.from_env({"REGISTRY_LOG_LEVEL": "warning", "REGISTRY_LOG_FORMAT": "text"}
                             ).log_format == "text"
