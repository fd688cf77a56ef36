"""Scenarios of the organization's guardrails (org.* rows, and SCPs in iam.policy_grants_required).

Each is ``compliant`` with the audited account made a member account of an organization whose
management account is :data:`MANAGEMENT` (and, unless said otherwise, a delegated administrator,
so the audit reads the policies with the account's own credentials).  The SCPs are the emulator's
own copies of AWS's published examples ("Example SCPs for Amazon Bedrock";
aws-samples/service-control-policy-examples), and the emulator enforces them
(:mod:`bedrock_key_audit.emulator.org_guard`).  Imported at the end of scenarios.py.
"""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.emulator import org_guard, partitions
from bedrock_key_audit.emulator.scenario_base import (
    ARN_PARTITION, CAP_KEY_AGE as CAP_KEY_AGE, DENY_LONG_TERM as DENY_LONG_TERM, MANAGEMENT as MANAGEMENT, SECRET_NAME,
    SECRET_PARTITION, USER, _compliant, attach_scp, confine, member as member, scenario,
)


@scenario
def scp_caps_key_age(emu: Any) -> None:
    """``compliant``, both accounts members of an organization whose SCP ``CapBedrockKeyAge`` (on the
    account's OU) denies creating Bedrock API keys of more than 180 days or without an expiration."""
    _compliant(emu, organization=False)
    for p in ("commercial", "govcloud"):
        attach_scp(p, member(p), "CapBedrockKeyAge", CAP_KEY_AGE)


@scenario
def scp_denies_long_term(emu: Any) -> None:
    """``compliant``, the commercial account a member of an organization whose SCP ``DenyLongTermKeys``
    (on the root) denies every ``LONG_TERM`` bearer call: the key is useless."""
    _compliant(emu, organization=False)
    member("commercial")
    from moto.organizations.models import organizations_backends

    org = organizations_backends[MANAGEMENT["commercial"]]["aws"].org
    assert org is not None
    root = org.root_id
    attach_scp("commercial", root, "DenyLongTermKeys", DENY_LONG_TERM)


@scenario
def no_org_access(emu: Any) -> None:
    """``compliant``, the commercial account a member of an organization, but not its delegated
    administrator: Organizations refuses it ListParents / ListPoliciesForTarget, so the SCPs are unread."""
    _compliant(emu, organization=False)
    member("commercial", delegated_admin=False)


def sanction_key_users(*names: str) -> None:
    """Let more commercial users hold long-term keys: the compliant organization's confinement SCP
    is rewritten to exempt them too (what an organization does when it sanctions another key user)."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[MANAGEMENT["commercial"]]["aws"]
    account = partitions.ACCOUNTS["commercial"]
    users = [f"arn:aws:iam::{account}:user/{n}" for n in (USER, *names)]
    for p in backend.policies:
        if p.name == "ConfineBedrockApiKeys":
            # creation stays spared to the account root, as :func:`guardrails` writes it
            p.content = json.dumps(confine(users, [f"arn:aws:iam::{account}:root"]))


# an account outside the organization, and the user of it that the secret's policies admit
OUTSIDER_ACCOUNT = "111122223333"
OUTSIDER_USER = "partner"
# "Resource control policies (RCPs)" -- an identity perimeter on the account's secrets and keys:
# only the account's own principals (and AWS services) may use them, whatever their policies say
KEEP_OUTSIDERS_OUT = {"Version": "2012-10-17", "Statement": [
    {"Sid": "EnforceIdentityPerimeter", "Effect": "Deny", "Principal": "*",
     "Action": ["secretsmanager:*", "kms:*"], "Resource": "*",
     "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalAccount": [partitions.ACCOUNTS["govcloud"]]},
                   "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}]}


def admit_outsider(emu: Any) -> str:
    """The secret's resource policy admits every principal of :data:`OUTSIDER_ACCOUNT`, and its key
    policy lets that account's user ``partner`` decrypt: the partner reads the key (with its own
    identity policy) unless something else stops it.  Returns the partner's ARN."""
    arn = f"arn:{ARN_PARTITION[SECRET_PARTITION]}:iam::{OUTSIDER_ACCOUNT}:user/{OUTSIDER_USER}"
    sm = emu.client("secretsmanager", SECRET_PARTITION)
    sm.put_resource_policy(SecretId=SECRET_NAME, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PartnerAccount", "Effect": "Allow", "Principal": {"AWS": OUTSIDER_ACCOUNT},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    key = sm.describe_secret(SecretId=SECRET_NAME)["KmsKeyId"]
    kms = emu.client("kms", SECRET_PARTITION)
    doc = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    doc["Statement"].append({"Sid": "PartnerDecrypt", "Effect": "Allow", "Principal": {"AWS": arn},
                             "Action": "kms:Decrypt", "Resource": "*"})
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(doc))
    return arn


@scenario
def rcp_blocks_outsiders(emu: Any) -> None:
    """``compliant``, plus a secret resource policy admitting account 111122223333 and a key policy
    letting its user ``partner`` decrypt, plus the RCP ``KeepSecretsInTheAccount`` on the GovCloud
    account denying Secrets Manager and KMS to every principal of another account: the partner is
    no reader (the emulator refuses its GetSecretValue by the RCP)."""
    _compliant(emu)
    admit_outsider(emu)
    org_guard.attach(MANAGEMENT["govcloud"], partitions.ACCOUNTS["govcloud"], org_guard.RCP,
                     "KeepSecretsInTheAccount", KEEP_OUTSIDERS_OUT, partition=ARN_PARTITION["govcloud"])
