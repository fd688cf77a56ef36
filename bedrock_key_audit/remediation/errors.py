"""Remediation's errors: the engine (``core``), the change guard (``guard``) and the principals' checks
(``principals``) all raise them, so they live below all three."""
from __future__ import annotations


class RemediationError(Exception):
    """A step could not be carried out; the message is one sentence without secrets."""


class NeedsPerson(RemediationError):
    """A step's precondition does not hold when it is about to run (a KMS key disabled meanwhile,
    a policy name taken by another principal): the step becomes *manual* with this one sentence,
    and nothing was changed."""
