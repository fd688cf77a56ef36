"""docs/auditor-policy.json and docs/remediator-policy.json are enough, and no more than needed.

The audit (and the remediation) run in the emulator as principals -- one per partition --
holding only the shipped policy, with moto's request authorization switched on
(``moto.core.authorization.enable_iam_authentication``: it sets
``settings.INITIAL_NO_AUTH_ACTION_COUNT`` to 0 in this process, and the emulator's server is a
thread of this process, so the switch reaches it).

moto 5.2.5 checks the *action* of a request, but authorizes it against resource ``"*"`` and
treats an unevaluable ``Condition`` as a deny.  So the principals get the documents with every
Resource widened to ``"*"`` and conditions dropped (conditional Deny statements left out):
the run proves the action lists; ``test_scoped_resources_match_what_the_run_touches`` proves
the ARN patterns against the ARNs of the emulator's resources with fixtures/policy.py-style
matching.
"""
from __future__ import annotations

import copy
import fnmatch
import json
from collections.abc import Set as AbstractSet
from pathlib import Path

import boto3
from moto.core.authorization import enable_iam_authentication

from bedrock_key_audit.fixtures.aws import AWS_KEY, CALL_LOG_KEY
from bedrock_key_audit.aws import Aws
from bedrock_key_audit.fixtures.config import CONFIG_KEY
from bedrock_key_audit.policy import Evaluator
from tests.remediation.helpers import SECRET, USER, point_env_at, run

ROOT = Path(__file__).resolve().parents[2]
AUDITOR = json.loads((ROOT / "docs" / "auditor-policy.json").read_text())
REMEDIATOR = json.loads((ROOT / "docs" / "remediator-policy.json").read_text())


# moto 5.2.5 names S3's Block Public Access calls by a query key ("public_access_block") that real
# requests do not carry ("publicAccessBlock"), so it authorizes them as its defaults: GET as
# s3:ListBucket, PUT as s3:CreateBucket.  The shipped documents name AWS's actions; moto's view adds
# the names moto asks for.
# moto also authorizes HeadBucket as "s3:HeadBucket", an action IAM does not have (AWS: s3:ListBucket).
MOTO_ALIASES = {"s3:GetBucketPublicAccessBlock": ["s3:ListBucket"], "s3:PutBucketPublicAccessBlock": ["s3:CreateBucket"],
                "s3:ListBucket": ["s3:HeadBucket"]}


def moto_view(doc: dict, drop: AbstractSet[str] = frozenset()) -> dict:

    """What moto can evaluate: Resource "*", no conditions, no conditional Deny; minus ``drop`` actions."""
    out = {"Version": doc["Version"], "Statement": []}
    for st in doc["Statement"]:
        if st["Effect"] == "Deny" and "Condition" in st:
            continue
        st = {k: v for k, v in copy.deepcopy(st).items() if k != "Condition"}
        st["Resource"] = "*"
        actions = [a for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"]) if a not in drop]
        actions += [alias for a in actions for alias in MOTO_ALIASES.get(a, []) if alias not in actions]
        if actions:
            st["Action"] = actions
            out["Statement"].append(st)
    return out


class PrincipalAws:
    """A plugin: the run's Aws signs each partition's calls with that partition's principal."""

    def __init__(self, keys: dict[str, tuple[str, str]]):
        self.keys = keys

    def pytest_sessionstart(self, session):
        config = session.config
        keys = self.keys

        class _Aws(Aws):
            def session(self, partition):
                with self._lock:
                    if partition not in self._sessions:
                        self._sessions[partition] = boto3.Session(
                            aws_access_key_id=keys[partition][0], aws_secret_access_key=keys[partition][1],
                            region_name=self.cfg.region(partition))
                    return self._sessions[partition]

        cfg = config.stash[CONFIG_KEY]
        config.stash[AWS_KEY] = {cfg.account: _Aws(cfg, config.stash[CALL_LOG_KEY], emulated=True)}


def _principals(emu, document: dict) -> dict[str, tuple[str, str]]:
    keys = {}
    for part in ("commercial", "govcloud"):
        iam = emu.client("iam", part)
        iam.create_user(UserName="bedrock-key-auditor")
        iam.put_user_policy(UserName="bedrock-key-auditor", PolicyName="shipped", PolicyDocument=json.dumps(document))
        ak = iam.create_access_key(UserName="bedrock-key-auditor")["AccessKey"]
        keys[part] = (ak["AccessKeyId"], ak["SecretAccessKey"])
    return keys


def _unauthenticated_in_moto(monkeypatch) -> None:
    """moto 5.2.5 cannot authenticate two of the audit's services: it answers
    SignatureDoesNotMatch to every correctly signed Bedrock control-plane (REST-JSON) request, and
    an empty 403 to S3 Control.  Their requests are let through unauthenticated here; that the
    shipped policies name their actions exactly is proven by
    test_auditor_policy_is_exactly_what_the_reads_declare."""
    from moto.bedrock.responses import BedrockResponse
    from moto.s3control.responses import S3ControlResponse

    for cls in (BedrockResponse, S3ControlResponse):
        monkeypatch.setattr(cls, "_authenticate_and_authorize_normal_action", lambda self, *a, **k: None, raising=False)


def _run_as(pytester, monkeypatch, emu, document, *args):
    point_env_at(monkeypatch, emu)
    _unauthenticated_in_moto(monkeypatch)
    keys = _principals(emu, document)
    with enable_iam_authentication():
        cap_result = run(pytester, *args, plugins_extra=[PrincipalAws(keys)])
    return cap_result


def test_auditor_policy_is_enough_for_the_whole_audit(pytester, emu, monkeypatch):
    emu.apply("compliant")
    result, cap = _run_as(pytester, monkeypatch, emu, moto_view(AUDITOR))
    bad = {k: r.detail for k, r in cap.records.items() if r.status != "pass"}
    assert not bad and result.ret == 0, bad


def test_auditor_policy_without_one_action_makes_the_audit_error(pytester, emu, monkeypatch):
    """The run above can fail: one action less and the check that needs it cannot decide."""
    emu.apply("compliant")
    result, cap = _run_as(pytester, monkeypatch, emu, moto_view(AUDITOR, drop={"iam:ListAccessKeys"}))
    assert cap.records["iam.user_no_other_credentials"].status == "error"
    assert "iam:ListAccessKeys was denied" in cap.records["iam.user_no_other_credentials"].detail
    assert result.ret != 0


def _doc_actions(doc: dict) -> set[str]:
    out: set[str] = set()
    for st in doc["Statement"]:
        if st["Effect"] == "Allow":
            out |= set([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    return out


def test_auditor_policy_is_exactly_what_the_reads_declare():
    """Every action the audit's reads declare beside their calls (bedrock_key_audit/permissions.py; that each
    call is declared is tests/unit/test_declared_reads.py), and nothing else; the organization's account listing
    is added with ``--organization`` only (tests/firstrun/test_policy_command.py)."""
    from bedrock_key_audit import permissions

    assert _doc_actions(AUDITOR) == {a for r in permissions.declared() if r.on in permissions.SCOPES for a in r.needs}


def test_remediator_policy_is_enough_to_remediate_everything(pytester, emu, monkeypatch):
    emu.apply("guide")
    iam = emu.client("iam")
    iam.create_login_profile(UserName=USER, Password="Not-a-real-password-1!")
    iam.create_access_key(UserName=USER)
    iam.put_user_policy(UserName=USER, PolicyName="extra", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    # our least-privilege policy exists with a stale document and IAM's maximum of five versions
    stale = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel",
                                                                "Resource": "*"}]})
    arn = iam.create_policy(PolicyName="BedrockApiKeyLeastPrivilege", PolicyDocument=stale)["Policy"]["Arn"]
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=stale, SetAsDefault=False)
    # a group that grants too much, a stopped trail recording only writes
    iam.create_group(GroupName="bedrock-admins")
    iam.put_group_policy(GroupName="bedrock-admins", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}]}))
    iam.add_user_to_group(GroupName="bedrock-admins", UserName=USER)
    ct = emu.client("cloudtrail")
    trail = ct.describe_trails()["trailList"][0]["TrailARN"]
    ct.stop_logging(Name=trail)
    ct.put_event_selectors(TrailName=trail, EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}])
    result, cap = _run_as(pytester, monkeypatch, emu, moto_view(REMEDIATOR), "--remediate", "--allow-destructive")
    # the guide's accounts are in no organization: the org.* fixers are manual steps (an SCP is an
    # organization's decision), never applied, and their rows keep failing
    failed = [(s.key, s.message) for s in cap.plan if s.status != "applied" and not s.key.startswith("manual:org-")]
    assert not failed
    keys = {s.key for s in cap.plan}
    assert {"iam.ensure-policy", "iam.leave-group:bedrock-admins", "iam.delete-login-profile",
            "trail.start-logging:commercial", "trail.management-events:commercial"} <= keys
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    # v1 was the default, so the oldest *non-default* version (v2) made room for the new default v6
    assert sorted(v["VersionId"] for v in versions) == ["v1", "v3", "v4", "v5", "v6"]
    assert next(v for v in versions if v["IsDefaultVersion"])["VersionId"] == "v6"
    bad = {k: r.detail for k, r in cap.records.items() if r.status != "pass" and not k.startswith("org.")}
    assert not bad, bad


def test_remediator_policy_creates_from_nothing(pytester, emu, monkeypatch):
    # invocation logging stores every prompt: it runs only when asked for (or with --allow-destructive)
    result, cap = _run_as(pytester, monkeypatch, emu, moto_view(REMEDIATOR), "--remediate",
                          "--enable-invocation-logging")
    failed = [(s.key, s.message) for s in cap.plan if s.status != "applied" and not s.key.startswith("manual:org-")]
    assert not failed, failed
    # what is left failing is only the organization's guardrails, which a person attaches
    assert {k for k, r in cap.records.items() if r.status != "pass"} <= {
        f"org.{c}[{p}]" for c in ("key_lifetime_capped", "long_term_keys_confined") for p in ("commercial", "govcloud")}


def _matches(pattern: str, arn: str) -> bool:
    return fnmatch.fnmatchcase(arn, pattern)


def _resources(doc: dict, action: str) -> list[str]:
    out: list[str] = []
    for st in doc["Statement"]:
        acts = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        if st["Effect"] == "Allow" and action in acts:
            out += [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
    return out


def test_scoped_resources_match_what_the_run_touches(emulator):
    """The ARN patterns of both documents cover the emulator's real ARNs (and not others)."""
    emulator.reset()
    emulator.apply("compliant")
    user_arn = emulator.client("iam").get_user(UserName=USER)["User"]["Arn"]
    secret_arn = emulator.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)["ARN"]
    trail_arns = [t["TrailARN"] for p in ("commercial", "govcloud")
                  for t in emulator.client("cloudtrail", p).describe_trails()["trailList"]]
    for doc in (AUDITOR, REMEDIATOR):
        assert any(_matches(p, user_arn) for p in _resources(doc, "iam:GetUser"))
        assert any(_matches(p, secret_arn) for p in _resources(doc, "secretsmanager:GetSecretValue"))
        assert not any(_matches(p, secret_arn.replace(SECRET, "another-secret")) for p in
                       _resources(doc, "secretsmanager:GetSecretValue"))
        for arn in trail_arns:
            assert any(_matches(p, arn) for p in _resources(doc, "cloudtrail:GetTrailStatus"))
    # the remediator may attach nothing but its own policy, and only to the key user
    attach = [s for s in REMEDIATOR["Statement"] if "iam:AttachUserPolicy" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    allowed_arns = attach[0]["Condition"]["ArnLike"]["iam:PolicyARN"] if len(attach) == 1 else []
    assert allowed_arns and all("/BedrockApiKeyLeastPrivilege" in a for a in allowed_arns)
    attach_to = [attach[0]["Resource"]] if isinstance(attach[0]["Resource"], str) else attach[0]["Resource"]
    assert any(_matches(p, user_arn) for p in attach_to)
    assert any(_matches(p, user_arn.replace(":user/", ":user/svc/")) for p in attach_to)  # under an IAM path too
    assert not any(_matches(p, user_arn.replace(USER, "admin")) for p in attach_to)
    # neither document grants anything the project's own evaluator calls write access to IAM broadly
    ev = Evaluator([("auditor", AUDITOR)])
    assert not any(ev.decide(a).allowed for a in ("iam:CreateUser", "iam:AttachUserPolicy", "secretsmanager:PutSecretValue"))
