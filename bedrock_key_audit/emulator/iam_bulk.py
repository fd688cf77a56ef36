"""IAM's credential report as AWS answers it (``GetAccountAuthorizationDetails``, the other bulk
read, is :mod:`bedrock_key_audit.emulator.iam_gaad`'s).

moto 5.2 has it, with differences the audit's bulk reads would trip over; ``install()``
corrects them (the emulator never imports audit code):

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
        _fix_credential_report()
        _installed = True


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
