"""The packaged SAM template, its CloudFormation translation and the IAM policies it grants."""

from __future__ import annotations

import inspect
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from cfnlint.api import ManualArgs, lint
from samtranslator.translator.transform import transform

from chalicelib.runtime.jobs.retry import receives_before_redrive
from chalicelib.runtime.jobs.runner import JobTimings
from chalicelib.settings import Settings, parse_signatures
from devstack.stack import LOCAL_SIGNATURES
from tests.deploy.conftest import Packaged
from tests.servers import ROOT

REPLY_BUDGET_SECONDS = 10
ZIP_BUDGET_BYTES = 5 * 1024 * 1024
TABLE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
}
TRACE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# The only actions IAM offers no resource-level scoping for.
RESOURCE_WILDCARD_ACTIONS = TRACE_ACTIONS
PARAMETER_ACTIONS = {"ssm:GetParameters"}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
SEND_ACTIONS = {"sqs:SendMessage"}
# What the job function does with its queue besides what the event source mapping does
# (receive, delete, attributes): hide a failed job for its retry's delay.
CONSUME_ACTIONS = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
}
# What it does with the dead-letter queue: find it, and move a job it gives up on there.
DEAD_LETTER_ACTIONS = {"sqs:GetQueueUrl", "sqs:SendMessage"}
# Everything the functions' roles may do, across every policy attached to them.
GRANTED_ACTIONS = (
    TABLE_ACTIONS
    | PARAMETER_ACTIONS
    | LOG_ACTIONS
    | TRACE_ACTIONS
    | SEND_ACTIONS
    | CONSUME_ACTIONS
    | DEAD_LETTER_ACTIONS
)
SSM_ARN = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
LINT_CONFIG = ManualArgs(include_checks=["I"], regions=["us-east-1", "eu-west-1"])


class _NoManagedPolicies:
    """SAM's managed-policy loader, which would call IAM; this template names no managed policy."""

    def load(self) -> dict[str, str]:
        raise AssertionError("the template must not ask SAM for managed policies")


def _lint(document: dict[str, Any]) -> list[str]:
    return [
        f"{match.rule.id} {match.message} (line {match.linenumber})"
        for match in lint(json.dumps(document, indent=1), config=LINT_CONFIG)
    ]


def _statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    statements = document["Statement"]
    yield from [statements] if isinstance(statements, dict) else statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _template_policies(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            assert not properties.get("ManagedPolicyArns"), name
            for inline in properties.get("Policies", []):
                yield f"{name}/{inline['PolicyName']}", inline["PolicyDocument"]
        elif resource["Type"] == "AWS::IAM::Policy":
            yield name, properties["PolicyDocument"]
        elif resource["Type"] == "AWS::Serverless::Function":
            assert "Policies" not in properties, name


def _policy_documents(packaged: Packaged) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from _template_policies(packaged.template)
    for path in sorted((ROOT / ".chalice").glob("policy-*.json")):
        yield path.name, json.loads(path.read_text())


def _wildcard_actions(documents: Iterator[tuple[str, dict[str, Any]]]) -> list[str]:
    found = []
    for name, document in documents:
        for statement in _statements(document):
            if "NotAction" in statement or "NotResource" in statement:
                found.append(f"{name}: NotAction/NotResource")
            for action in _as_list(statement.get("Action", [])):
                if not ACTION.match(action):
                    found.append(f"{name}: {action!r} is not one exact action")
            if "*" in _as_list(statement.get("Resource", [])):
                extra = set(_as_list(statement["Action"])) - RESOURCE_WILDCARD_ACTIONS
                found += [f"{name}: {action} on every resource" for action in sorted(extra)]
    return found


@pytest.fixture(scope="module")
def translated(packaged: Packaged) -> dict[str, Any]:
    sam = json.loads(json.dumps(packaged.template))
    # `aws cloudformation package` uploads the zip and rewrites CodeUri to its S3 location.
    for function in ("APIHandler", "JobRunner"):
        sam["Resources"][function]["Properties"]["CodeUri"] = "s3://artifacts/deployment.zip"
    cloudformation: dict[str, Any] = transform(sam, {}, _NoManagedPolicies())
    return cloudformation


@pytest.fixture(scope="module")
def function(packaged: Packaged) -> dict[str, Any]:
    handler: dict[str, Any] = packaged.resources["APIHandler"]
    assert handler["Type"] == "AWS::Serverless::Function"
    return handler


@pytest.fixture(scope="module")
def env(function: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def test_sam_template_is_cfn_lint_clean(packaged: Packaged) -> None:
    assert _lint(packaged.template) == []


def test_translated_cloudformation_is_cfn_lint_clean(translated: dict[str, Any]) -> None:
    assert "Transform" not in translated
    types = {resource["Type"] for resource in translated["Resources"].values()}
    assert not {t for t in types if t.startswith("AWS::Serverless::")}
    assert {"AWS::Lambda::Function", "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage"} <= types
    assert _lint(translated) == []


def test_the_linter_really_reads_the_translated_template(translated: dict[str, Any]) -> None:
    # A clean result means something only if the same call reports a broken copy.
    broken = json.loads(json.dumps(translated))
    broken["Resources"]["APIHandler"]["Properties"]["MemorySize"] = 99_999
    broken["Resources"]["IdempotencyTable"]["Properties"]["BillingMode"] = "ON_DEMAND"
    found = " ".join(_lint(broken))
    assert "E3034" in found  # MemorySize above Lambda's maximum
    assert "E3030" in found  # BillingMode not one of its values


def test_translated_cloudformation_grants_no_wildcard_action(translated: dict[str, Any]) -> None:
    documents = list(_template_policies(translated))
    assert {name.split("/")[0] for name, _ in documents} == {
        "ApiHandlerRole",
        "JobRunnerRole",
        "RuntimePolicy",
        "JobsConsumerPolicy",
    }
    assert _wildcard_actions(iter(documents)) == []


def test_idempotency_table_is_on_demand_with_ttl_and_pitr(packaged: Packaged) -> None:
    (table,) = packaged.of_type("AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    defaults = inspect.signature(DynamoDBPersistenceLayer.__init__).parameters

    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [
        {"AttributeName": defaults["key_attr"].default, "KeyType": "HASH"}
    ]
    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": defaults["expiry_attr"].default,
        "Enabled": True,
    }
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # The AWS managed key aws/dynamodb: its key policy serves every principal allowed to use
    # DynamoDB, so the role needs no KMS grant (a customer managed key would).
    assert properties["SSESpecification"] == {"SSEEnabled": True}


def test_function_env_points_the_idempotency_store_at_the_table(env: dict[str, Any]) -> None:
    assert env["IDEMPOTENCY_STORE"] == {"Fn::Sub": "dynamodb://${IdempotencyTable}"}


def test_function_outlives_the_reply_budget_and_traces(
    packaged: Packaged, function: dict[str, Any]
) -> None:
    properties = function["Properties"]
    stage = packaged.stage_config()
    assert properties["Timeout"] > REPLY_BUDGET_SECONDS
    assert properties["Timeout"] == stage["lambda_timeout"]
    assert properties["MemorySize"] == stage["lambda_memory_size"] == 1024
    assert properties["Tracing"] == "Active"
    assert properties["Runtime"] == "python3.11"
    assert properties["Tags"]["stage"] == packaged.stage


def test_handler_errors_alarm_watches_what_the_runtime_emits(
    packaged: Packaged, env: dict[str, Any]
) -> None:
    alarms = packaged.of_type("AWS::CloudWatch::Alarm").values()
    (alarm,) = [a["Properties"] for a in alarms if a["Properties"].get("Metrics")]
    stage = packaged.template["Parameters"]["Stage"]["Default"]
    assert stage == packaged.stage
    (query,) = alarm["Metrics"]
    expression = query["Expression"]["Fn::Sub"].replace("${Stage}", stage)
    # The runtime adds kind and outcome dimensions next to service; a Metrics Insights
    # query over the namespace sums HandlerErrors whatever the dimension set.
    assert expression == (
        f'SELECT SUM(HandlerErrors) FROM "{env["POWERTOOLS_METRICS_NAMESPACE"]}" '
        f"WHERE service = '{env['POWERTOOLS_SERVICE_NAME']}'"
    )
    assert query["ReturnData"] is True
    assert alarm["Threshold"] >= 1


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_lambda_alarms_watch_the_function(packaged: Packaged, metric: str) -> None:
    alarms = [a["Properties"] for a in packaged.of_type("AWS::CloudWatch::Alarm").values()]
    (alarm,) = [
        a for a in alarms if a.get("Namespace") == "AWS/Lambda" and a["MetricName"] == metric
    ]
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "APIHandler"}}]


def test_output_is_the_public_dailybot_url(packaged: Packaged) -> None:
    url = packaged.template["Outputs"]["DailybotCommandURL"]["Value"]["Fn::Sub"]
    api_stage = packaged.stage_config()["api_gateway_stage"]
    assert url == (
        f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{api_stage}/dailybot"
    )
    assert packaged.resources["RestAPI"]["Properties"]["StageName"] == api_stage
    paths = packaged.resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert "post" in paths["/dailybot"]


def test_no_policy_grants_a_wildcard_action(packaged: Packaged) -> None:
    documents = list(_policy_documents(packaged))
    assert len(documents) >= 3
    assert _wildcard_actions(iter(documents)) == []


def test_the_wildcard_check_catches_each_form() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:table"},
            {"Effect": "Allow", "Action": ["ssm:GetParameter*"], "Resource": "arn:p"},
            {"Effect": "Allow", "Action": "*", "Resource": "arn:x"},
            {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"},
            {"Effect": "Allow", "NotAction": "iam:PassRole", "Resource": "arn:y"},
        ]
    }
    assert len(_wildcard_actions(iter([("p", policy)]))) == 5


def test_the_role_may_do_exactly_what_the_runtime_calls(packaged: Packaged) -> None:
    granted = {
        action
        for name, document in _policy_documents(packaged)
        if not name.startswith("policy-")
        for statement in _statements(document)
        for action in _as_list(statement["Action"])
    }
    assert granted == GRANTED_ACTIONS
    stage_file = packaged.stage_config()["iam_policy_file"]
    (role_policy,) = [d for name, d in _policy_documents(packaged) if name == stage_file]
    assert {a for s in _statements(role_policy) for a in _as_list(s["Action"])} == TRACE_ACTIONS


def test_runtime_policy_is_attached_to_both_roles_and_draining_only_to_the_jobs(
    packaged: Packaged, function: dict[str, Any]
) -> None:
    role_name = function["Properties"]["Role"]["Fn::GetAtt"][0]
    jobs_properties = packaged.resources["JobRunner"]["Properties"]
    jobs_role = jobs_properties["Role"]["Fn::GetAtt"][0]
    assert {role_name, jobs_role} == {"ApiHandlerRole", "JobRunnerRole"}
    for name in (role_name, jobs_role):
        assert packaged.resources[name]["Type"] == "AWS::IAM::Role"
    assert "Policies" not in function["Properties"]
    assert "Policies" not in jobs_properties
    policies = packaged.of_type("AWS::IAM::Policy")
    assert set(policies) == {"RuntimePolicy", "JobsConsumerPolicy"}
    assert policies["RuntimePolicy"]["Properties"]["Roles"] == [
        {"Ref": role_name},
        {"Ref": jobs_role},
    ]
    consumer = policies["JobsConsumerPolicy"]["Properties"]
    assert consumer["Roles"] == [{"Ref": jobs_role}]
    drain, dead_letter = _statements(consumer["PolicyDocument"])
    assert set(drain["Action"]) == CONSUME_ACTIONS
    assert drain["Resource"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    assert set(dead_letter["Action"]) == DEAD_LETTER_ACTIONS
    assert dead_letter["Resource"] == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
    # The API handler's only queue action: send.
    sends = [s for s in _runtime_statements(packaged) if "sqs:SendMessage" in s["Action"]]
    assert [(s["Action"], s["Resource"]) for s in sends] == [
        (["sqs:SendMessage"], {"Fn::GetAtt": ["JobsQueue", "Arn"]})
    ]


def test_jobs_queue_is_encrypted_redriven_after_the_attempts_and_outlasts_the_job(
    packaged: Packaged,
) -> None:
    jobs = packaged.resources["JobRunner"]["Properties"]
    stage_jobs = packaged.stage_config()["lambda_functions"]["job_runner"]
    assert jobs["Timeout"] == stage_jobs["lambda_timeout"] >= 60
    assert jobs["MemorySize"] == stage_jobs["lambda_memory_size"]
    env = jobs["Environment"]["Variables"]
    settings = Settings.from_env({k: v for k, v in env.items() if isinstance(v, str)})
    # An attempt is abandoned at JOBS_TIMEOUT_SECONDS; its reports and the queue and store
    # calls around it still fit in the function's own timeout.
    timings = JobTimings(settings.jobs_timeout_seconds)
    assert settings.jobs_timeout_seconds < timings.attempt_seconds <= jobs["Timeout"]
    assert env["JOBS_QUEUE"] == {"Fn::Sub": "sqs://${JobsQueue}"}
    assert env["IDEMPOTENCY_STORE"] == {"Fn::Sub": "dynamodb://${IdempotencyTable}"}
    queue = packaged.resources["JobsQueue"]["Properties"]
    dead = packaged.resources["JobsDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is dead["SqsManagedSseEnabled"] is True
    # AWS: at least six times the function's timeout for a queue a Lambda function drains.
    assert queue["VisibilityTimeout"] >= 6 * jobs["Timeout"]
    # The redrive limit derives from the one definition of the attempts (the job function's
    # settings); the runtime dead-letters a job itself after its last attempt.
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
        "maxReceiveCount": receives_before_redrive(settings.jobs_attempts),
    }
    (source,) = jobs["Events"].values()
    assert source["Type"] == "SQS"
    assert source["Properties"]["Queue"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    assert source["Properties"]["BatchSize"] == 1
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    api_env = packaged.resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api_env["JOBS_QUEUE"] == env["JOBS_QUEUE"]


def test_an_alarm_watches_the_dead_letter_queue(packaged: Packaged) -> None:
    alarms = [a["Properties"] for a in packaged.of_type("AWS::CloudWatch::Alarm").values()]
    (alarm,) = [a for a in alarms if a.get("Namespace") == "AWS/SQS"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsDeadLetterQueue", "QueueName"]}}
    ]
    assert alarm["Threshold"] == 1


def _runtime_statements(packaged: Packaged) -> list[dict[str, Any]]:
    policy = packaged.resources["RuntimePolicy"]
    return list(_statements(policy["Properties"]["PolicyDocument"]))


def test_dynamodb_is_granted_item_actions_on_the_table_only(packaged: Packaged) -> None:
    table_statements = [
        s
        for _, document in _policy_documents(packaged)
        for s in _statements(document)
        if any(a.startswith("dynamodb:") for a in _as_list(s["Action"]))
    ]
    assert len(table_statements) == 1
    (statement,) = table_statements
    assert set(statement["Action"]) == TABLE_ACTIONS
    assert statement["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}


def test_exactly_the_stages_two_parameters_are_readable(packaged: Packaged) -> None:
    (statement,) = [
        s
        for s in _runtime_statements(packaged)
        if any(a.startswith("ssm:") for a in _as_list(s["Action"]))
    ]
    assert set(_as_list(statement["Action"])) == PARAMETER_ACTIONS
    stage = packaged.template["Parameters"]["Stage"]["Default"]
    granted = {
        resource["Fn::Sub"].removeprefix(SSM_ARN).replace("${Stage}", stage)
        for resource in _as_list(statement["Resource"])
    }
    env = packaged.stage_config()["environment_variables"]
    assert granted == {
        env["DAILYBOT_API_KEY_PARAMETER"],
        env["DAILYBOT_SIGNATURES_PARAMETER"],
    }


def test_no_kms_or_secrets_manager_grant(packaged: Packaged) -> None:
    # SecureString parameters under the AWS managed key aws/ssm need no kms:Decrypt grant:
    # that key's policy lets every principal of the account decrypt through SSM.
    actions = {
        action
        for _, document in _policy_documents(packaged)
        for statement in _statements(document)
        for action in _as_list(statement["Action"])
    }
    assert not {a for a in actions if a.startswith(("kms:", "secretsmanager:"))}


def test_logs_are_writable_only_to_the_functions_log_group(packaged: Packaged) -> None:
    (statement,) = [s for s in _runtime_statements(packaged) if s["Action"][0].startswith("logs:")]
    # The template creates the log groups, so no function needs logs:CreateLogGroup.
    assert set(statement["Action"]) == LOG_ACTIONS
    groups = (":log-group:/aws/lambda/${APIHandler}", ":log-group:/aws/lambda/${JobRunner}")
    for resource in statement["Resource"]:
        assert any(group in resource["Fn::Sub"] for group in groups)
    for function in ("APIHandler", "JobRunner"):
        log_group = packaged.resources[f"{function}LogGroup"]["Properties"]
        assert log_group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{function}}}"}


def test_every_stage_uses_its_own_policy_file_without_autogen(packaged: Packaged) -> None:
    for name, stage in packaged.config["stages"].items():
        assert stage["autogen_policy"] is False, name
        assert (ROOT / ".chalice" / stage["iam_policy_file"]).is_file(), name
        assert stage["lambda_timeout"] > REPLY_BUDGET_SECONDS, name


def test_nothing_secret_in_the_prod_config_or_the_template(
    packaged: Packaged, env: dict[str, Any]
) -> None:
    stage_env = packaged.stage_config()["environment_variables"]
    for variable in ("DAILYBOT_API_KEY", "DAILYBOT_SIGNATURES"):
        assert variable not in stage_env
        assert variable not in env
    assert stage_env["DAILYBOT_API_KEY_PARAMETER"]
    assert stage_env["DAILYBOT_SIGNATURES_PARAMETER"]
    # The local stage's stand-in values must not leak into what is deployed.
    template_text = packaged.template_path.read_text()
    local_env = packaged.stage_config("local")["environment_variables"]
    local_signatures = parse_signatures(local_env["DAILYBOT_SIGNATURES"])
    for value in (local_env["DAILYBOT_API_KEY"], *(s.value.reveal() for s in local_signatures)):
        assert value not in template_text


def test_every_deployed_stage_reads_its_own_secrets_and_traces(packaged: Packaged) -> None:
    for name in ("dev", "prod"):
        stage = packaged.stage_config(name)
        stage_env = stage["environment_variables"]
        assert "DAILYBOT_API_KEY" not in stage_env, name
        assert "DAILYBOT_SIGNATURES" not in stage_env, name
        for variable in ("DAILYBOT_API_KEY_PARAMETER", "DAILYBOT_SIGNATURES_PARAMETER"):
            assert stage_env[variable].startswith(f"/dailybot-runtime/{name}/"), name
        assert stage["xray"] is True, name
        assert stage_env["POWERTOOLS_TRACE_DISABLED"] == "false", name
        assert stage_env["DAILYBOT_API_URL"].startswith("https://"), name


def test_local_stage_keeps_plain_fallbacks_for_chalice_local(packaged: Packaged) -> None:
    local_env = packaged.stage_config("local")["environment_variables"]
    assert local_env["DAILYBOT_API_KEY"]
    assert local_env["DAILYBOT_SIGNATURES"]
    assert local_env["IDEMPOTENCY_STORE"].startswith("sqlite:///")
    assert "DAILYBOT_API_KEY_PARAMETER" not in local_env


def test_local_signatures_are_bound_to_the_emulators_commands(packaged: Packaged) -> None:
    local_env = packaged.stage_config("local")["environment_variables"]
    fixtures = json.loads((ROOT / "emulator" / "fixtures" / "default.json").read_text())
    expected = {(command["uuid"], command["signature"]) for command in fixtures["commands"]}

    for raw in (local_env["DAILYBOT_SIGNATURES"], LOCAL_SIGNATURES):
        bound = {(s.command_uuid, s.value.reveal()) for s in parse_signatures(raw)}
        assert bound == expected


def test_zip_is_lean_and_leaves_boto3_to_the_runtime(packaged: Packaged) -> None:
    with zipfile.ZipFile(packaged.zip_path) as archive:
        names = archive.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    # Its bytecode is what infra.package compiled, one pyc per module: see test_package.py.
    assert packaged.zip_path.stat().st_size < ZIP_BUDGET_BYTES
    assert {"app.py", "chalicelib", "httpx", "aws_lambda_powertools", "aws_xray_sdk"} <= tops
    assert not tops & {"boto3", "botocore", "s3transfer", "emulator", "tests", "infra"}
