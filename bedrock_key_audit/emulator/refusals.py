"""Every refusal the emulator made while enforcing IAM, wherever it was decided: the WSGI front
(:mod:`enforce_iam`) and the handlers that serve and authorize a call themselves (the minting and
escalation handlers, :mod:`iam_authz`, :mod:`iam_ssc`).  ``/_emulator/enforce-iam`` lists them.
A module of its own, importing nothing, so the handlers record into it without importing the front."""
from __future__ import annotations

#: (action, resource) of every refusal, in order
REFUSED: list[tuple[str, str]] = []


def record(action: str, resource: str) -> None:
    REFUSED.append((action, resource))
