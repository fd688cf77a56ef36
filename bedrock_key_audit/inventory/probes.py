"""Classification of a Bedrock HTTP answer into a few classes a user can act on."""
from __future__ import annotations

import httpx

from bedrock_key_audit.inventory.models import HttpProbe


def _advice(msg: str) -> str:
    """What a 403 asks for, from AWS's own reason ("Troubleshoot access denied error messages", IAM
    User Guide, https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html):
    an SCP's explicit deny, or no SCP allowing the action, is not lifted by any grant to the user; nor is a
    permissions boundary's refusal ("Permissions boundaries for IAM entities": the effective permissions are
    what both the identity policies and the boundary allow)."""
    low = msg.lower()
    if "service control policy" in low:
        return ("a service control policy refuses it: no grant to the key's user lifts that; the organization must "
                "change the SCP (or the account's place in it)")
    if "resource control policy" in low:
        return "a resource control policy refuses it: no grant to the key's user lifts that; the organization must change it"
    if "permissions boundary" in low:
        # "because no permissions boundary allows ..." / "with an explicit deny in a permissions boundary":
        # the boundary caps what the user's policies may grant, so a grant to the user changes nothing
        return ("the key user's permissions boundary caps it: a grant to the user does not lift that; change the "
                "boundary to allow the action")
    if "explicit deny" in low:
        return "an explicit Deny refuses it: no grant lifts that; change the Deny if the key really needs the action"
    return "grant the missing action to the key's user"


def path_of(url: str) -> str:
    return httpx.URL(url).path


def classify_http(name: str, url: str, r: httpx.Response, attempts: int) -> HttpProbe:
    """Turn a Bedrock answer into one of a few classes a user can act on."""
    try:
        body = r.json()
    except ValueError:
        body = None
    etype = (r.headers.get("x-amzn-ErrorType") or "").split(":")[0]
    msg = ""
    if isinstance(body, dict):
        msg = str(body.get("message") or body.get("Message") or "")
        err = body.get("error")
        if not msg and isinstance(err, dict):  # OpenAI-compatible APIs (Mantle): {"error": {"message": ...}}
            msg = str(err.get("message") or "")
    if r.status_code == 200:
        if body is None:
            return HttpProbe(name, url, 200, "malformed", "answered 200 with a body that is not JSON", attempts)
        return HttpProbe(name, url, 200, "ok", "answered 200", attempts, body)
    if r.status_code in (401, 403):
        if "api key" in msg.lower() or "authentication failed" in msg.lower():
            return HttpProbe(name, url, r.status_code, "bad_key", "the key was refused (invalid, expired, inactive or reset): rotate it", attempts)
        return HttpProbe(name, url, r.status_code, "forbidden", f"access denied: {msg[:300]} — {_advice(msg)}", attempts)
    if r.status_code == 429:
        return HttpProbe(name, url, 429, "throttled", f"throttled ({etype or 'ThrottlingException'})", attempts)
    if r.status_code in (404,) or etype == "ResourceNotFoundException" or (
        r.status_code == 400 and ("model" in msg.lower() or "inference profile" in msg.lower())
    ):
        return HttpProbe(name, url, r.status_code, "model_unavailable",
                         f"model not available: {msg[:300] or etype} — choose an available model or inference profile", attempts)
    if r.status_code == 408:
        return HttpProbe(name, url, 408, "timeout", f"model timed out ({etype})", attempts)
    if r.status_code >= 500:
        return HttpProbe(name, url, r.status_code, "server_error", f"server error {r.status_code} {etype}".strip(), attempts)
    return HttpProbe(name, url, r.status_code, "client_error", f"HTTP {r.status_code} {etype}: {msg[:300]}".strip(), attempts)
