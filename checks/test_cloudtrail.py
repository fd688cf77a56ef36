"""CloudTrail in each partition: one security trail that is logging, multi-region, validated,
records all management events, and is encrypted with a usable KMS key.

Judged as AWS Config's ``CLOUDTRAIL_SECURITY_TRAIL_ENABLED`` and CIS AWS Foundations v3.0.0
3.1/3.2/3.5 judge it: at least one *single* trail must have every property
(https://docs.aws.amazon.com/config/latest/developerguide/cloudtrail-security-trail-enabled.html).
:func:`bedrock_key_audit.trails.security_trail` picks that trail, or when there is none the closest
candidate; each row below judges its own properties on that one trail, so rows never pass on
different trails (a multi-region trail and a separate validated trail are not a security
trail: the rows of what the candidate lacks fail, naming every trail's gaps).  Shadow and
organization trails count (they record this account too) and are read in their home region.

The verdicts live in :mod:`bedrock_key_audit.verdicts.cloudtrail` (one function per check id).
"""
from __future__ import annotations

import pytest

from bedrock_key_audit import registry
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.fixtures.checkgen import check_tests
from bedrock_key_audit.verdicts import cloudtrail as verdicts


@pytest.fixture(scope="session")
def trails_by_partition(inventory):
    """``{partition: list[Trail] | CouldNotDecide}`` — read once per partition."""
    out = {}
    for p in registry.PARTITIONS:
        try:
            out[p] = inventory.trails(p)
        except CouldNotDecide as exc:
            out[p] = exc
    return out


globals().update(check_tests(verdicts))
