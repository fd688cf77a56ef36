"""Which Regions an account has enabled: EC2 ``DescribeRegions`` and the Account API's Region opt-in.

moto 5.2.5's ``DescribeRegions`` answers every Region of every partition (GovCloud and China
Regions to a commercial caller), ignores ``AllRegions``, and calls several opt-in Regions
(``af-south-1``, ``eu-south-1``, ``ap-southeast-3``) default ones; it has no ``account:EnableRegion``.
AWS, as documented:

* "Regions launched before March 20, 2019 are enabled by default ... Default Regions cannot be
  enabled or disabled"; later ones are opt-in Regions, disabled until the account enables them
  ("Enable or disable AWS Regions in your account",
  https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html).  A GovCloud
  account has its own partition's Regions only, all enabled.
* ``ec2:DescribeRegions`` "describes the Regions that are enabled for your account, or all
  Regions" (``AllRegions``), each with ``OptInStatus`` ``opt-in-not-required`` | ``opted-in`` |
  ``not-opted-in`` (Amazon EC2 API Reference, DescribeRegions); Regions of other partitions are
  never described ("You can't describe or access the Regions of one type of account from another").
* ``account:EnableRegion`` / ``DisableRegion`` (``RegionName``; a default Region is a
  ``ValidationException``), ``GetRegionOptStatus`` and ``ListRegions`` with ``RegionOptStatus``
  ``ENABLED`` | ``ENABLING`` | ``DISABLING`` | ``DISABLED`` | ``ENABLED_BY_DEFAULT`` (AWS Account
  Management API Reference).  AWS takes minutes to hours to finish ``ENABLING``; the emulator
  enables at once.

The Region list is botocore's endpoint data for ``ec2`` in the caller's partition.  State is kept
on moto's account backend, so a moto reset clears it.
"""
from __future__ import annotations

import functools
import json
import threading
from typing import Any

import botocore.session

# Regions launched before March 20, 2019: enabled in every commercial account.
DEFAULT_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
})

_lock = threading.Lock()
_installed = False


def partition_regions(arn_partition: str) -> list[str]:
    """Every Region of ``arn_partition`` (botocore's endpoint data for ``ec2``)."""
    return list(_partition_regions(arn_partition))


@functools.lru_cache(maxsize=None)
def _partition_regions(arn_partition: str) -> tuple[str, ...]:
    # a new botocore session loads endpoints.json again: half a second or more a call, for data that
    # does not change while the emulator runs
    return tuple(sorted(botocore.session.get_session().get_available_regions("ec2", partition_name=arn_partition)))


def _opted_in(account_id: str) -> set[str]:
    from moto.account.models import account_backends

    backend = account_backends[account_id]["aws"]
    store: set[str] = backend.__dict__.setdefault("_emulator_opted_in_regions", set())
    return store


def status(account_id: str, arn_partition: str, region: str) -> str:
    """``OptInStatus`` of ``region`` for the account, as DescribeRegions names it."""
    if arn_partition != "aws" or region in DEFAULT_REGIONS:
        return "opt-in-not-required"
    return "opted-in" if region in _opted_in(account_id) else "not-opted-in"


def describe(account_id: str, arn_partition: str, names: list[str], all_regions: bool) -> list[dict[str, str]]:
    out = []
    for r in partition_regions(arn_partition):
        st = status(account_id, arn_partition, r)
        if (names and r not in names) or (not all_regions and st == "not-opted-in"):
            continue
        suffix = "amazonaws.com.cn" if arn_partition == "aws-cn" else "amazonaws.com"
        out.append({"RegionName": r, "Endpoint": f"ec2.{r}.{suffix}", "OptInStatus": st})
    return out


class _Error(Exception):
    def __init__(self, code: str, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status_code = code, message, status_code


def _account_status(account_id: str, region: str) -> str:
    if region in DEFAULT_REGIONS:
        return "ENABLED_BY_DEFAULT"
    return "ENABLED" if region in _opted_in(account_id) else "DISABLED"


def account_action(account_id: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """One Account API Region call for the caller's own account (commercial partition)."""
    target = params.get("AccountId") or account_id
    if target != account_id:
        raise _Error("AccessDeniedException", "Only the caller's own account is served by the emulator", 403)
    regions = partition_regions("aws")
    if action == "ListRegions":
        wanted = set(params.get("RegionOptStatusContains") or [])
        return {"Regions": [{"RegionName": r, "RegionOptStatus": _account_status(account_id, r)} for r in regions
                            if not wanted or _account_status(account_id, r) in wanted]}
    name = params.get("RegionName")
    if name not in regions:
        raise _Error("ValidationException", f"Invalid RegionName: {name}")
    if action == "GetRegionOptStatus":
        return {"RegionName": name, "RegionOptStatus": _account_status(account_id, name)}
    if name in DEFAULT_REGIONS:
        raise _Error("ValidationException", f"{name} is enabled by default and cannot be enabled or disabled")
    with _lock:
        if action == "EnableRegion":
            _opted_in(account_id).add(name)
        else:
            _opted_in(account_id).discard(name)
    return {}


_ACCOUNT_PATHS = {"enableRegion": "EnableRegion", "disableRegion": "DisableRegion",
                  "getRegionOptStatus": "GetRegionOptStatus", "listRegions": "ListRegions"}


def install() -> None:
    """Serve DescribeRegions as AWS does and the Account API's Region calls (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.account import urls as account_urls
        from moto.account.responses import AccountResponse
        from moto.core.exceptions import JsonRESTError
        from moto.core.responses import ActionResult
        from moto.ec2.responses.availability_zones_and_regions import AvailabilityZonesAndRegions

        def describe_regions(self: Any) -> Any:
            self.error_on_dryrun()
            names = self._get_param("RegionNames", []) or []
            all_regions = str(self._get_param("AllRegions", False)).lower() == "true"
            # the caller's account and Region straight from the request: ``self.ec2_backend`` would build
            # moto's whole EC2 backend for the account and Region (seconds of CPU) for an answer that needs
            # neither
            from bedrock_key_audit.emulator.partitions import arn_partition_of_region

            return ActionResult({"Regions": describe(self.current_account, arn_partition_of_region(self.region),
                                                     list(names), all_regions)})

        AvailabilityZonesAndRegions.describe_regions = describe_regions  # type: ignore[method-assign]

        def handler(action: str) -> Any:
            def run(self: Any) -> str:
                try:
                    params = json.loads(self.body or "{}")
                except ValueError:
                    params = {}
                try:
                    return json.dumps(account_action(self.current_account, action,
                                                     params if isinstance(params, dict) else {}))
                except _Error as err:
                    raise JsonRESTError(err.code, err.message) from None
            return run

        for path, action in _ACCOUNT_PATHS.items():
            account_urls.url_paths[f"{{0}}/{path}$"] = AccountResponse.dispatch
            method = "".join("_" + c.lower() if c.isupper() else c for c in action).lstrip("_")
            setattr(AccountResponse, method, handler(action))
        _installed = True
