"""IAM's bulk reads as AWS answers them: ``GetAccountAuthorizationDetails`` and the credential report.

moto 5.2 has both, with differences the audit's bulk reads would trip over; ``install()``
corrects them (the emulator never imports audit code):

* **GetAccountAuthorizationDetails** ignored ``MaxItems``/``Marker`` (one page, always
  ``IsTruncated: false``) and its ``Policies`` entries had no ``PolicyName``/``PolicyId``
  (the model's ``ManagedPolicyDetail`` has both).  Now it pages through users, groups, roles,
  then policies, ``MaxItems`` 1..1000 (default 100), with an opaque ``Marker``.
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
* **Credential report**: moto computed the report at ``GetCredentialReport`` time (always
  current), said ``GeneratedTime: 2015-02-02T20:02:02Z``, never regenerated a report, and left
  ``cert_N_last_rotated`` ``N/A`` for existing certificates (so an inactive certificate looked
  like none).  AWS ("Getting credential reports for your AWS account",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html): a report
  is a snapshot taken at generation; ``GenerateCredentialReport`` starts a new one when none
  exists or the latest is older than four hours (``STARTED``) and otherwise answers
  ``COMPLETE``; ``GetCredentialReport`` serves the latest, ``ReportNotPresent`` (410) when none
  exists and ``ReportExpired`` (410) when it is older than four hours.  The report here is
  snapshotted when generation starts, with the emulator clock's time as ``GeneratedTime``.
"""
from __future__ import annotations

import base64
import datetime as dt
import threading
from typing import Any

from bedrock_key_audit.emulator import clock

REPORT_MAX_AGE = dt.timedelta(hours=4)
_lock = threading.Lock()
_installed = False


def installed() -> bool:
    return _installed


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _fix_gaad()
        _fix_credential_report()
        _installed = True


# --------------------------------------------------------------------------- GAAD
def _policy_detail(p: Any) -> dict[str, Any]:
    return {
        "PolicyName": p.name, "PolicyId": p.id, "Arn": p.arn, "Path": p.path,
        "DefaultVersionId": p.default_version_id, "AttachmentCount": p.attachment_count,
        "PermissionsBoundaryUsageCount": 0, "IsAttachable": True, "Description": p.description,
        "CreateDate": p.create_date, "UpdateDate": p.update_date,
        "PolicyVersionList": [{"Document": v.document, "VersionId": v.version_id,
                               "IsDefaultVersion": bool(v.is_default), "CreateDate": v.create_date}
                              for v in p.versions],
    }


def _fix_gaad() -> None:
    from moto.core.responses import ActionResult
    from moto.iam.responses import IamResponse

    from bedrock_key_audit.emulator.iam_ssc import errors

    def get_account_authorization_details(self: Any) -> ActionResult:
        entity_filter = self._get_param("Filter", [])
        max_items = self._get_int_param("MaxItems", 100)
        if not 1 <= max_items <= 1000:
            raise errors().InvalidInput("MaxItems must be between 1 and 1000")
        marker = self._get_param("Marker")
        details = self.backend.get_account_authorization_details(entity_filter)
        entries: list[tuple[str, Any]] = (
            [("UserDetailList", u) for u in sorted(details["users"], key=lambda u: u.name)]
            + [("GroupDetailList", g) for g in sorted(details["groups"], key=lambda g: g.name)]
            + [("RoleDetailList", r) for r in sorted(details["roles"], key=lambda r: r.name)]
            + [("Policies", p) for p in sorted(details["managed_policies"], key=lambda p: p.arn)])
        start = 0
        if marker:
            try:
                start = int(base64.b64decode(marker).decode().removeprefix("gaad:"))
            except (ValueError, UnicodeDecodeError):
                raise errors().InvalidInput("Invalid Marker") from None
        page = entries[start:start + max_items]
        result: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
        for key, obj in page:
            result[key].append(_policy_detail(obj) if key == "Policies" else obj)
        end = start + len(page)
        result["IsTruncated"] = end < len(entries)
        if result["IsTruncated"]:
            result["Marker"] = base64.b64encode(f"gaad:{end}".encode()).decode()
        return ActionResult(result)

    IamResponse.get_account_authorization_details = get_account_authorization_details  # type: ignore[method-assign]


# --------------------------------------------------------------------------- credential report
def _csv_row(user: Any, original_to_csv: Any) -> str:
    """moto's row with ``cert_N_last_rotated`` set to the certificate's upload date when it exists."""
    fields = original_to_csv(user).rstrip("\n").split(",")
    certs = list(user.signing_certificates.values())
    for i, (active_at, rotated_at) in enumerate(((18, 19), (20, 21))):
        if i < len(certs):
            fields[active_at] = "true" if certs[i].status == "Active" else "false"
            fields[rotated_at] = certs[i].upload_date.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return ",".join(fields) + "\n"


def _fix_credential_report() -> None:
    from moto.core.responses import ActionResult
    from moto.iam import models as iam_models
    from moto.iam.exceptions import IAMException, ReportNotPresentException
    from moto.iam.responses import IamResponse

    class ReportExpired(IAMException):
        code = "ReportExpired"

        def __init__(self) -> None:
            super().__init__("The credential report is older than four hours; generate a new one")

    original_to_csv = iam_models.User.to_csv
    iam_models.User.to_csv = lambda self: _csv_row(self, original_to_csv)  # type: ignore[method-assign]

    def generate(self: Any) -> ActionResult:
        backend = self.backend
        now = clock.now()
        latest = getattr(backend, "_emulator_report", None)
        if latest is not None and now - latest[0] <= REPORT_MAX_AGE:
            return ActionResult({"State": "COMPLETE"})
        backend.generate_report()
        content = backend.get_credential_report()  # moto's rows, taken now: the snapshot
        backend._emulator_report = (now.replace(microsecond=0), content)
        return ActionResult({"State": "STARTED",
                             "Description": "No report exists. Starting a new report generation task"})

    def get(self: Any) -> ActionResult:
        latest = getattr(self.backend, "_emulator_report", None)
        if latest is None:
            raise ReportNotPresentException("Credential report not present")
        generated, content = latest
        if clock.now() - generated > REPORT_MAX_AGE:
            raise ReportExpired()
        return ActionResult({"Content": content, "ReportFormat": "text/csv", "GeneratedTime": generated})

    IamResponse.generate_credential_report = generate  # type: ignore[method-assign]
    IamResponse.get_credential_report = get  # type: ignore[method-assign]
