"""The endpoint rows probe Mantle when the workload uses it (``[endpoint] surfaces``), end to end against the
emulator, which decides each bearer call with its own evaluator."""
from __future__ import annotations

from typing import Any

from tests.audit.helpers import run_audit

ROWS = ("endpoint.list_models", "endpoint.invoke")
CLOSED = "endpoint.unused_surfaces_closed"


def _config(tmp_path: Any, surfaces: str) -> str:
    path = tmp_path / "audit.toml"
    path.write_text(f"[endpoint]\nsurfaces = {surfaces}\n")
    return f"--audit-config={path}"


def test_a_key_that_opens_mantle_answers_there_when_it_is_in_use(pytester, tmp_path):
    rows = run_audit(pytester, "mantle_open", _config(tmp_path, '["runtime", "mantle"]'), rows=[*ROWS, CLOSED])
    for row in ROWS:
        assert rows[row]["status"] == "pass", rows[row]["detail"]
        assert "bedrock-mantle answered 200" in rows[row]["detail"]
    assert "GET /foundation-models answered 200" in rows["endpoint.list_models"]["detail"]
    # nothing the workload leaves unused can be closed on its own: runtime-openai shares runtime's host
    assert rows[CLOSED]["status"] == "pass"


def test_a_key_mantle_refuses_fails_the_rows_when_mantle_is_in_use(pytester, tmp_path):
    rows = run_audit(pytester, "compliant", _config(tmp_path, '["mantle"]'), rows=ROWS)
    for row in ROWS:
        assert rows[row]["status"] == "fail", rows[row]["detail"]
        assert "bedrock-mantle with the key from the secret" in rows[row]["detail"]
        assert "foundation-models" not in rows[row]["detail"] and "converse" not in rows[row]["detail"]


def test_runtime_openai_in_use_is_probed_by_a_chat_completion_on_bedrock_runtime(pytester, tmp_path):
    rows = run_audit(pytester, "mantle_open", _config(tmp_path, '["runtime-openai"]'), rows=[*ROWS, CLOSED])
    detail = rows["endpoint.invoke"]["detail"]
    assert rows["endpoint.invoke"]["status"] == "pass", detail
    assert detail == ("chat completion with openai.gpt-oss-20b-1:0 on bedrock-runtime /openai/v1 answered 200 "
                      "(finish_reason length)")
    assert rows["endpoint.list_models"]["status"] == "pass", rows["endpoint.list_models"]["detail"]
    assert "lists openai.gpt-oss-20b-1:0" in rows["endpoint.list_models"]["detail"]
    # runtime is left unused but shares runtime-openai's host and action: said, not failed
    closed = rows[CLOSED]
    assert "runtime cannot be closed apart from runtime-openai" in closed["detail"], closed


def test_a_workload_in_its_own_mantle_project_is_probed_in_that_project(pytester, tmp_path):
    """``endpoint.mantle_project`` other than ``default``: the probes name it (``OpenAI-Project``), so a user whose
    Mantle grant is on that project alone passes the endpoint rows, as its workload's calls are authorized."""
    import json

    from bedrock_key_audit.emulator.scenarios import USER

    def only_proj_other(emu):
        iam = emu.client("iam")
        iam.detach_user_policy(UserName=USER, PolicyArn="arn:aws:iam::aws:policy/AmazonBedrockMantleInferenceAccess")
        iam.put_user_policy(UserName=USER, PolicyName="MantleOtherProject", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["bedrock-mantle:CreateInference", "bedrock-mantle:ListModels"],
                 "Resource": "arn:aws:bedrock-mantle:us-east-1:123456789012:project/proj_other"},
                {"Effect": "Allow", "Action": "bedrock-mantle:CallWithBearerToken", "Resource": "*"}]}))

    path = tmp_path / "audit.toml"
    path.write_text('[endpoint]\nsurfaces = ["mantle"]\nmantle_project = "proj_other"\n')
    rows = run_audit(pytester, "mantle_open", f"--audit-config={path}", rows=ROWS, setup=only_proj_other)
    for row in ROWS:
        assert rows[row]["status"] == "pass", rows[row]["detail"]
    path.write_text('[endpoint]\nsurfaces = ["mantle"]\n')  # the default project: the grant does not reach it
    rows = run_audit(pytester, "mantle_open", f"--audit-config={path}", rows=["endpoint.invoke"], setup=only_proj_other)
    assert rows["endpoint.invoke"]["status"] == "fail", rows["endpoint.invoke"]["detail"]
