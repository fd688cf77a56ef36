"""Account-wide IAM reads for fleet mode (``--all-keys``), one each per account.

:class:`BulkReads` is a base of :class:`~bedrock_key_audit.inventory.reader.Inventory`.  With
``bulk`` on, the reader answers ``user``, ``user_policies``, ``managed_policy`` and the
password / other-service parts of ``other_credentials`` from these reads, building the SAME
objects (``IamUser``, ``PolicyDoc``, ``UserPolicies``, ``OtherCredentials``) the per-user reads
build, so no check and no evaluator has a second code path.  Parsing:
:mod:`bedrock_key_audit.iam_bulk` (which documents every field read and why the credential
report does not stand for ListAccessKeys / ListSigningCertificates).

* ``iam:GetAccountAuthorizationDetails`` (Filter User, Role, Group, LocalManagedPolicy; MaxItems 1000;
  Marker loop), the same read the access checks use (:meth:`BulkReads.gaad_pages`: one per account);
* ``iam:GenerateCredentialReport`` (until ``COMPLETE``) + ``iam:GetCredentialReport``, used only
  when generated at or after the run began;
* ``iam:ListServiceSpecificCredentials`` with ``AllUsers`` and no ``ServiceName`` (Marker loop).

Where one is denied, throttled past retries or malformed, the reader falls back to the
per-user reads for what it would have answered, and :attr:`BulkReads.notes` gets one line.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from bedrock_key_audit.iam_bulk import (
    GAAD_FILTER,
    AuthorizationDetails,
    BulkParseError,
    CredentialReport,
    credentials_by_user,
    parse_authorization_details,
    parse_credential_report,
    report_fresh,
)
from bedrock_key_audit.inventory.errors import ReadError
from bedrock_key_audit.permissions import ACCOUNT_AUTHORIZATION, COMMERCIAL, CREDENTIAL_REPORT, KEY_USER, Read, reads

REPORT_WAIT_SECONDS = 60.0


class BulkReads:
    """The bulk reads and their fallback notes (mixed into ``Inventory``)."""

    bulk: bool = False
    run_started: dt.datetime | None = None

    def _bulk_note(self, text: str) -> None:
        lock = self.__dict__.setdefault("_notes_lock", threading.Lock())
        with lock:
            notes: list[str] = self.__dict__.setdefault("notes", [])
            if text not in notes:
                notes.append(text)

    @property
    def bulk_notes(self) -> list[str]:
        return list(self.__dict__.get("notes", []))

    @reads(Read("iam:GetAccountAuthorizationDetails", ACCOUNT_AUTHORIZATION))
    def gaad_pages(self, partition: str) -> list[dict[str, Any]]:
        """``iam:GetAccountAuthorizationDetails`` of ``partition``'s account, every page (Filter
        :data:`~bedrock_key_audit.iam_bulk.GAAD_FILTER`, MaxItems 1000, Marker loop), read once per
        account and run: the fleet's user and policy reads (:meth:`auth_details`) and the access
        checks (:mod:`bedrock_key_audit.inventory.access`) share it.  Raises ``ReadError`` (kept by the
        memo for every reader) when it cannot be read."""
        def fetch() -> list[dict[str, Any]]:
            def via(client: Any) -> dict[str, Any]:
                pages: list[dict[str, Any]] = []
                params: dict[str, Any] = {"Filter": GAAD_FILTER, "MaxItems": 1000}
                while True:
                    page = client.get_account_authorization_details(**params)
                    pages.append(page)
                    if not page.get("IsTruncated") or not page.get("Marker"):
                        return {"pages": pages}
                    params = {**params, "Marker": page["Marker"]}
            resp = self._read(partition, "iam", "GetAccountAuthorizationDetails", via=via)  # type: ignore[attr-defined]
            pages: list[dict[str, Any]] = (resp or {}).get("pages", [])
            return pages
        return self.g.once(("gaad", partition), fetch)  # type: ignore[attr-defined,no-any-return]

    def auth_details(self) -> AuthorizationDetails | None:
        """The account's ``GetAccountAuthorizationDetails``, or None (fallback) when it cannot be read."""
        if not self.bulk:
            return None

        def fetch() -> AuthorizationDetails | None:
            try:
                return parse_authorization_details(self.gaad_pages("commercial"))
            except (ReadError, BulkParseError) as exc:
                self._bulk_note(f"{exc}; IAM users and policies were read user by user instead")
                return None
        return self.g.once(("bulk", "gaad"), fetch)  # type: ignore[attr-defined,no-any-return]

    @reads(Read("iam:GenerateCredentialReport", CREDENTIAL_REPORT, partitions=COMMERCIAL),
        Read("iam:GetCredentialReport", CREDENTIAL_REPORT, partitions=COMMERCIAL))
    def credential_report(self) -> CredentialReport | None:
        """The IAM credential report, when generated at or after the run began; else None (fallback)."""
        if not self.bulk:
            return None

        def fetch() -> CredentialReport | None:
            try:
                deadline = time.monotonic() + REPORT_WAIT_SECONDS
                delay = 0.2
                resp: dict[str, Any] | None = None
                while resp is None:
                    state = (self._read("commercial", "iam", "GenerateCredentialReport")  # type: ignore[attr-defined]
                              or {}).get("State")
                    # COMPLETE: a report exists; STARTED / INPROGRESS: it may already be served
                    resp = self._read("commercial", "iam", "GetCredentialReport",  # type: ignore[attr-defined]
                                      expected=set() if state == "COMPLETE" else {"ReportInProgress"})
                    if resp is None:
                        if time.monotonic() > deadline:
                            raise ReadError(f"the IAM credential report was still being generated after "
                                            f"{REPORT_WAIT_SECONDS:g} s")
                        time.sleep(delay)
                        delay = min(delay * 2, 5.0)
                report = parse_credential_report(resp.get("Content", b""), resp["GeneratedTime"])
            except (ReadError, BulkParseError, KeyError) as exc:
                why = str(exc) if not isinstance(exc, KeyError) else "the credential report has no GeneratedTime"
                self._bulk_note(f"{why}; console passwords were read user by user (iam:GetLoginProfile) instead")
                return None
            started = self.run_started or dt.datetime.now(dt.timezone.utc)
            if not report_fresh(report.generated, started):
                self._bulk_note(
                    f"the IAM credential report is from {report.generated.isoformat(timespec='seconds')}, before this "
                    "run began (AWS reuses a report for up to four hours), so console passwords were read user by "
                    "user (iam:GetLoginProfile) instead")
                return None
            return report
        return self.g.once(("bulk", "credential-report"), fetch)  # type: ignore[attr-defined,no-any-return]

    @reads(Read("iam:ListServiceSpecificCredentials", KEY_USER, partitions=COMMERCIAL))
    def all_service_credentials(self) -> dict[str, list[dict[str, Any]]] | None:
        """Every user's non-Bedrock service-specific credentials (lower-cased user name), or None (fallback)."""
        if not self.bulk:
            return None

        def fetch() -> dict[str, list[dict[str, Any]]] | None:
            from bedrock_key_audit.config import BEDROCK_SERVICE
            try:
                items = self._paginate("commercial", "iam", "ListServiceSpecificCredentials",  # type: ignore[attr-defined]
                                       "ServiceSpecificCredentials", AllUsers=True) or []
            except ReadError as exc:
                self._bulk_note(f"{exc}; other services' credentials were read user by user instead")
                return None
            return credentials_by_user(items, exclude_service=BEDROCK_SERVICE)
        return self.g.once(("bulk", "all-ssc"), fetch)  # type: ignore[attr-defined,no-any-return]
