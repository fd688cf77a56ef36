"""Fixers of the iam.* rows: the IAM user, its least-privilege policy, what grants too much, other credentials.

Also the IAM steps other families need first (``_create_user_step``, ``_ensure_policy_step``):
a new key proves itself only once the policy grants ``bedrock:CallWithBearerToken``.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Sequence

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.policy import (
    Evaluator,
    PolicyError,
    decode_document,
    expand,
    forbidden_match,
    parse_document,
)
from bedrock_key_audit.remediation.core import (
    Context,
    Step,
    fixer,
    manual_step,
)
from bedrock_key_audit.remediation.errors import NeedsPerson
from bedrock_key_audit.remediation.names import POLICY_NAME
from bedrock_key_audit.permissions import COMMERCIAL, R_ATTACH_OUR_POLICY, R_GROUPS_AND_POLICIES, R_KEY_USER_CHANGES, R_KEY_USER_READS, R_NAME_LISTING, R_OUR_POLICY, R_POLICY_ENTITIES, Write, writes

# step order bands of the IAM fixers (lower runs first): the user, its policy, stripping what grants too much,
# then its other credentials
ORDER_USER = 10
ORDER_POLICY = 20
ORDER_STRIP = 25
ORDER_OTHER_CREDS = 30


MAX_POLICY_VERSIONS = 5  # IAM keeps at most five versions of a managed policy


def _user_exists(ctx: Context) -> bool:
    return ctx.inv.user(ctx.cfg.user_name).exists


@writes(Write("iam:ListUsers", R_NAME_LISTING, partitions=COMMERCIAL))
def _same_name_user(ctx: Context, name: str) -> str | None:
    """IAM's spelling of a user whose name equals ``name`` regardless of case (IAM names ignore case:
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html)."""
    for u in _list(ctx, "ListUsers", "Users"):
        if u["UserName"].lower() == name.lower():
            spelling: str = u["UserName"]
            return spelling
    return None


def _list(ctx: Context, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item of an IAM list call (Marker / IsTruncated)."""
    items: list[Any] = []
    while True:
        resp = ctx.call("iam", "commercial", operation, **params) or {}
        items.extend(resp.get(key, []))
        if not resp.get("IsTruncated") or not resp.get("Marker"):
            return items
        params = {**params, "Marker": resp["Marker"]}


@writes(Write("iam:GetUser", R_KEY_USER_READS, partitions=COMMERCIAL),
        Write("iam:CreateUser", R_KEY_USER_CHANGES, actions=("iam:CreateUser", "iam:TagUser"), partitions=COMMERCIAL))
def _create_user_step(ctx: Context) -> Step:
    name = ctx.cfg.user_name

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        got = ctx.call("iam", "commercial", "GetUser", expected={"NoSuchEntity"}, UserName=name)
        if got is not None:  # idempotent: someone made it meanwhile
            return None, {"UserName": name, "Arn": got["User"]["Arn"], "note": "already existed"}
        same = _same_name_user(ctx, name)
        if same is not None:  # the same user to IAM: never make a near-duplicate
            raise NeedsPerson(f"IAM user {same} exists (IAM names ignore case): set user.name = \"{same}\" "
                              "in audit.toml and rerun")
        u = ctx.call("iam", "commercial", "CreateUser", expected={"EntityAlreadyExists"}, UserName=name,
                     Tags=[{"Key": "purpose", "Value": "bedrock-long-term-key"}])
        if u is None:
            raise NeedsPerson(f"IAM refuses to create {name}: a user of that name in another case exists; "
                              "set user.name in audit.toml to IAM's spelling and rerun")
        return None, {"UserName": u["User"]["UserName"], "Arn": u["User"]["Arn"]}

    return Step(key="iam.create-user", order=ORDER_USER, action=f"create IAM user {name}",
                calls=["iam:GetUser", "iam:ListUsers", "iam:CreateUser"], target=ctx.user_arn(),
                targets=[ctx.user_arn()], partition="commercial", run=run, before={"UserName": name, "exists": False},
                affects=["iam.user_exists"])  # planned also for the grant and the rotation other rows ask for


@fixer("iam.user_exists")
def fix_user_exists(ctx: Context, rec: CheckRecord) -> list[Step]:
    return [] if _user_exists(ctx) else [_create_user_step(ctx)]


def desired_policy(ctx: Context) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "BedrockApiKeyRequiredActions", "Effect": "Allow",
        "Action": sorted(ctx.cfg.required_actions), "Resource": "*",
    }]}


def policy_names(ctx: Context) -> list[str]:
    """The names our least-privilege policy may take, in order: the second when the first is taken."""
    return [POLICY_NAME, f"{POLICY_NAME}-{ctx.cfg.user_name}"[:128]]


def policy_arn(ctx: Context) -> str:
    """The ARN of the least-privilege policy the plan uses (the first name that is free or ours)."""
    state = _policy_state(ctx)
    return state.get("PolicyArn") or \
        f"arn:{ctx.arn_partition('commercial')}:iam::{ctx.account('commercial')}:policy/{POLICY_NAME}"


def _same_document(a: Any, b: Any) -> bool:
    return bool(_doc(a) == _doc(b))


def _doc(d: Any) -> Any:
    """A policy document as a dict (IAM returns URL-encoded JSON text; boto3 usually decodes it);
    text that is not JSON is kept as it is."""
    try:
        return decode_document(d)
    except ValueError:
        return d


def _allowed_set(document: Any) -> set[str] | None:
    try:
        return set(Evaluator([("doc", document)]).allowed())
    except PolicyError:
        return None


@writes(Write("iam:ListEntitiesForPolicy", R_POLICY_ENTITIES, partitions=COMMERCIAL))
def _entities(ctx: Context, arn: str) -> list[str]:
    """``user/<name>``, ``group/<name>``, ``role/<name>`` the policy is attached to."""
    out: list[str] = []
    params: dict[str, Any] = {"PolicyArn": arn}
    while True:
        resp = ctx.call("iam", "commercial", "ListEntitiesForPolicy", **params) or {}
        out += [f"user/{x['UserName']}" for x in resp.get("PolicyUsers", [])]
        out += [f"group/{x['GroupName']}" for x in resp.get("PolicyGroups", [])]
        out += [f"role/{x['RoleName']}" for x in resp.get("PolicyRoles", [])]
        if not resp.get("IsTruncated") or not resp.get("Marker"):
            return out
        params["Marker"] = resp["Marker"]


def _others(ctx: Context, entities: list[str]) -> list[str]:
    me = f"user/{ctx.cfg.user_name}".lower()
    return [e for e in entities if e.lower() != me]


@writes(Write("iam:ListPolicies", R_NAME_LISTING, partitions=COMMERCIAL),
        Write("iam:GetPolicyVersion", R_GROUPS_AND_POLICIES, partitions=COMMERCIAL),
        Write("iam:ListPolicyVersions", R_OUR_POLICY, partitions=COMMERCIAL))
def _policy_state(ctx: Context) -> dict[str, Any]:
    """Which name our policy has, whether it exists, is current and attached (reads only; memoised for
    the plan).  A customer policy of that name attached to any other principal, or whose name
    differs only in case, is *taken*: never edited; the next name is tried."""
    memo: dict[str, Any] | None = ctx.memo.get("plan:policy-state")
    if memo is not None:
        return memo
    local = {p["PolicyName"].lower(): p for p in _list(ctx, "ListPolicies", "Policies", Scope="Local")}
    taken: list[str] = []
    state: dict[str, Any] = {"taken": taken}
    for name in policy_names(ctx):
        pol = local.get(name.lower())
        if pol is None:
            state.update(PolicyName=name, exists=False, up_to_date=False, attached=False, versions=0,
                         PolicyArn=f"arn:{ctx.arn_partition('commercial')}:iam::{ctx.account('commercial')}:policy/{name}")
            break
        if pol["PolicyName"] != name:
            taken.append(f"{name} is taken by {pol['PolicyName']} (IAM names ignore case)")
            continue
        ents = _entities(ctx, pol["Arn"])
        if others := _others(ctx, ents):
            taken.append(f"{name} is attached to {', '.join(others[:3])}")
            continue
        ver = ctx.call("iam", "commercial", "GetPolicyVersion", PolicyArn=pol["Arn"],
                       VersionId=pol["DefaultVersionId"])["PolicyVersion"]
        versions = _list(ctx, "ListPolicyVersions", "Versions", PolicyArn=pol["Arn"])
        state.update(PolicyName=name, PolicyArn=pol["Arn"], exists=True,
                     up_to_date=_same_document(ver["Document"], desired_policy(ctx)),
                     attached=f"user/{ctx.cfg.user_name}".lower() in [e.lower() for e in ents],
                     default_version=pol["DefaultVersionId"], document=_doc(ver["Document"]),
                     versions=len(versions))
        break
    ctx.memo["plan:policy-state"] = state
    return state


@writes(Write("iam:GetPolicy", R_GROUPS_AND_POLICIES, partitions=COMMERCIAL),
        Write("iam:ListPolicies", R_NAME_LISTING, partitions=COMMERCIAL),
        Write("iam:CreatePolicy", R_OUR_POLICY, partitions=COMMERCIAL),
        Write("iam:GetPolicyVersion", R_GROUPS_AND_POLICIES, partitions=COMMERCIAL),
        Write("iam:ListPolicyVersions", R_OUR_POLICY, partitions=COMMERCIAL),
        Write("iam:DeletePolicyVersion", R_OUR_POLICY, partitions=COMMERCIAL),
        Write("iam:CreatePolicyVersion", R_OUR_POLICY, partitions=COMMERCIAL),
        Write("iam:ListAttachedUserPolicies", R_KEY_USER_READS, partitions=COMMERCIAL),
        Write("iam:AttachUserPolicy", R_ATTACH_OUR_POLICY, partitions=COMMERCIAL))
def _ensure_policy_step(ctx: Context) -> Step | None:
    state = _policy_state(ctx)
    user = ctx.cfg.user_name
    if "PolicyName" not in state:
        st = manual_step("iam.ensure-policy", f"no name is free for the least-privilege policy "
                         f"({'; '.join(state['taken'])}): create a policy allowing only required_actions and "
                         f"attach it to {user} by hand")
        st.targets, st.order = [ctx.user_arn()], ORDER_POLICY  # before the steps it blocks
        return st
    if state["exists"] and state["up_to_date"] and state["attached"]:
        return None
    name, arn = state["PolicyName"], state["PolicyArn"]
    calls = ["iam:ListPolicies", "iam:ListEntitiesForPolicy"]
    destructive = narrows = False
    if not state["exists"]:
        calls.append("iam:CreatePolicy")
    elif not state["up_to_date"]:
        old, new = _allowed_set(state["document"]), _allowed_set(desired_policy(ctx))
        narrows = old is None or new is None or not old <= new
        full = state["versions"] >= MAX_POLICY_VERSIONS
        destructive = narrows or full  # narrowing the default document, or deleting a version
        calls += (["iam:ListPolicyVersions", "iam:GetPolicyVersion",
                   "iam:DeletePolicyVersion (oldest non-default; its document is in the action log)"] if full else []) \
            + ["iam:CreatePolicyVersion (SetAsDefault; the old default stays as a version)"]
    if not state["attached"]:
        calls.append("iam:AttachUserPolicy")
    before = {k: v for k, v in state.items() if k != "taken"}

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        doc = json.dumps(desired_policy(ctx))
        record = dict(before)
        st.before = record  # filled in as it goes: a failure after DeletePolicyVersion still logs that document
        after: dict[str, Any] = {"PolicyArn": arn}
        pol = ctx.call("iam", "commercial", "GetPolicy", expected={"NoSuchEntity"}, PolicyArn=arn)
        if pol is None:
            if (same := {p["PolicyName"].lower(): p["PolicyName"] for p in _list(
                    ctx, "ListPolicies", "Policies", Scope="Local")}.get(name.lower())) is not None:
                raise NeedsPerson(f"policy name {name} is now taken by {same} (IAM names ignore case): rerun the plan")
            ctx.call("iam", "commercial", "CreatePolicy", PolicyName=name, PolicyDocument=doc,
                     Description="Bedrock API key: exactly the configured required_actions (bedrock-key-audit)")
            after["version"] = "v1"
        else:
            if others := _others(ctx, _entities(ctx, arn)):
                raise NeedsPerson(f"policy {name} is now attached to {', '.join(others[:3])}: it is not edited; rerun the plan")
            ver = ctx.call("iam", "commercial", "GetPolicyVersion", PolicyArn=arn,
                           VersionId=pol["Policy"]["DefaultVersionId"])["PolicyVersion"]
            if not _same_document(ver["Document"], desired_policy(ctx)):
                record["previous_default"] = {"VersionId": ver["VersionId"], "Document": _doc(ver["Document"])}
                versions = _list(ctx, "ListPolicyVersions", "Versions", PolicyArn=arn)
                if len(versions) >= MAX_POLICY_VERSIONS:
                    if not st.destructive:
                        raise NeedsPerson(f"policy {name} now has {len(versions)} versions: deleting one is "
                                          "destructive; rerun the plan")
                    oldest = sorted((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])[0]
                    old_doc = ctx.call("iam", "commercial", "GetPolicyVersion", PolicyArn=arn,
                                       VersionId=oldest["VersionId"])["PolicyVersion"]["Document"]
                    # the deleted version's document is recorded before it goes (restorable)
                    record["deleted_version"] = {"VersionId": oldest["VersionId"], "Document": _doc(old_doc)}
                    ctx.call("iam", "commercial", "DeletePolicyVersion", PolicyArn=arn, VersionId=oldest["VersionId"])
                    after["deleted_version"] = oldest["VersionId"]
                nv = ctx.call("iam", "commercial", "CreatePolicyVersion", PolicyArn=arn, PolicyDocument=doc,
                              SetAsDefault=True)["PolicyVersion"]
                after["version"] = nv["VersionId"]
        attached = _list(ctx, "ListAttachedUserPolicies", "AttachedPolicies", UserName=user)
        if arn not in [a["PolicyArn"] for a in attached]:
            ctx.call("iam", "commercial", "AttachUserPolicy", UserName=user, PolicyArn=arn)
        after["attached_to"] = user
        after["actions"] = sorted(ctx.cfg.required_actions)
        return record, after

    verb = "create" if not state["exists"] else ("update" if not state["up_to_date"] else "attach")
    return Step(key="iam.ensure-policy", order=ORDER_POLICY,
                action=f"{verb} customer-managed policy {name} (required_actions only) and attach it to {user}"
                       + (f" ({state['taken'][0]})" if state["taken"] else ""),
                calls=calls, target=arn, targets=[arn, ctx.user_arn()], partition="commercial", run=run,
                before=before, destructive=destructive, requires=["iam.create-user"],
                grants=sorted(ctx.cfg.required_actions),
                affects=_ensure_policy_affects(ctx, narrows))


def _ensure_policy_affects(ctx: Context, narrows: bool) -> list[str]:
    """The rows whose judged property the least-privilege policy write changes, whichever row asked for it: what
    the user is granted (``iam.policy_grants_required``); the actions beyond required_actions it drops when it
    narrows our policy's default version (``iam.policy_least_privilege``: a waiver there accepts them); and, when
    the user lacks a required action now, whether the key's calls are answered (the endpoint rows: a reason
    several rows judge is accepted when any of them is waived, docs/remediation.md "Waivers across fixers")."""
    out = ["iam.policy_grants_required"] + (["iam.policy_least_privilege"] if narrows else [])
    if _needs_policy(ctx):
        out += ["endpoint.list_models", "endpoint.invoke"]
    return out


def _grants_all(ctx: Context, documents: list[Any], boundary: Any = None) -> bool:
    """Do these policy documents (PolicyDoc list) allow every required action?"""
    try:
        ev = Evaluator([(d.label, d.document) for d in documents],
                       boundary=(boundary.label, boundary.document) if boundary else None)
    except PolicyError:
        return False
    return all(ev.decide(a).allowed for a in expand(ctx.cfg.required_actions))


def _needs_policy(ctx: Context) -> bool:
    if not _user_exists(ctx):
        return True
    up = ctx.inv.user_policies(ctx.cfg.user_name)
    return not _grants_all(ctx, up.documents, up.boundary)


def _extras(label: str, document: Any, required: set[str]) -> list[str] | None:
    """Actions ``document`` allows beyond ``required`` (None: the document cannot be evaluated)."""
    try:
        allowed = Evaluator([(label, document)]).allowed()
    except PolicyError:
        return None
    return sorted(a for a in allowed if a not in required)


def has_deny(document: Any) -> bool | None:
    """Does the document hold a Deny statement (a guardrail)?  None: it cannot be parsed."""
    try:
        return any(s.effect == "Deny" for s in parse_document(document, "doc"))
    except PolicyError:
        return None


def narrowed(document: Any, required: set[str]) -> dict[str, Any] | None:
    """The document with every Deny statement kept as it is and each Allow statement cut down to the
    required actions it grants (dropped when it grants none); None when nothing would remain."""
    doc = _doc(document)
    out = []
    for st in (doc.get("Statement") if isinstance(doc.get("Statement"), list) else [doc.get("Statement")]):
        if not isinstance(st, dict):
            continue
        if st.get("Effect") != "Allow":
            out.append(st)
            continue
        single = {"Version": "2012-10-17", "Statement": [st]}
        extra = _extras("statement", single, required)
        if extra == []:
            out.append(st)
            continue
        grants = set(parse_document(single, "statement")[0].expand(required)) & required
        if grants:
            cut = {k: v for k, v in st.items() if k != "NotAction"}
            cut["Action"] = sorted(grants)
            out.append(cut)
    return {"Version": doc.get("Version", "2012-10-17"), "Statement": out} if out else None


def scp_stop(ctx: Context) -> str | None:
    """The SCPs of the key user's account that certainly stop a required action of a long-term
    API-key call, as one sentence naming each SCP and its target; None when they let every action
    through, were not read, or leave it undecided.  An identity-policy write never lifts an SCP's
    Deny nor a level that allows nothing ("SCP evaluation",
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html),
    so a fixer facing one prints it for the organization instead of attaching a policy."""
    from bedrock_key_audit import iam_verdicts
    from bedrock_key_audit.checkcore import CouldNotDecide
    from bedrock_key_audit.org_policies import grants_bound
    from bedrock_key_audit.policy import bearer_context, principal_context

    try:
        org = ctx.inv.org_policies("commercial")
    except CouldNotDecide:
        return None
    if not org.in_organization or org.is_management:
        return None
    user, acct = ctx.cfg.user_name, org.account_id
    partition = ctx.arn_partition("commercial")
    principal = principal_context(user, f"arn:{partition}:iam::{acct}:user/{user}", acct, None)
    bctx = bearer_context(principal, ctx.now, requested_region=ctx.cfg.region("commercial"),
                          user_values=ctx.cfg.policy_context, user_absent=ctx.cfg.absent_context_keys)
    judged = grants_bound(org, expand(ctx.cfg.required_actions),
                          lambda a: iam_verdicts.required_resources(a, iam_verdicts.runtime_model(ctx.cfg), partition, acct,
                                                                     ctx.cfg.mantle_project,
                                                                     iam_verdicts.openai_model(ctx.cfg)), bctx)
    return judged.detail if judged.status == "fail" else None


def scp_manual_step(ctx: Context, rec: CheckRecord, stop: str) -> Step:
    return manual_step(f"manual:scp:{rec.check_id}", f"{stop}. No change to the key's user can lift an SCP: the "
                       "organization must change that SCP (or where the account sits under it), or the key is not "
                       "meant to work here", rec)


def blocker_steps(ctx: Context, rec: CheckRecord, blockers: Sequence[Any]) -> list[Step]:
    """One manual step per Deny statement or boundary that refuses a required action (keyed by it, so the
    rows it breaks share the step): a grant cannot lift either (remediation/diagnosis.py)."""
    return [manual_step(f"manual:{b.kind}:{b.policy}:{b.statement}", b.sentence(), rec) for b in blockers]


@fixer("iam.policy_grants_required")
def fix_policy_grants_required(ctx: Context, rec: CheckRecord) -> list[Step]:
    """A missing Allow is granted (our least-privilege policy); an explicit Deny or a permissions boundary
    refusing a required action is a manual step naming it, and nothing is granted for the actions it refuses
    (remediation/diagnosis.py: "Policy evaluation logic")."""
    from bedrock_key_audit.remediation.diagnosis import grant_diagnosis

    if (stop := scp_stop(ctx)) is not None:
        return [scp_manual_step(ctx, rec, stop)]
    steps: list[Step] = []
    if not _user_exists(ctx):
        steps.append(_create_user_step(ctx))
    diag = grant_diagnosis(ctx)
    if not diag.blockers or diag.missing:
        st = _ensure_policy_step(ctx)
        if st:
            steps.append(st)
    return steps + blocker_steps(ctx, rec, diag.blockers)


@fixer("iam.policy_least_privilege")
def fix_policy_least_privilege(ctx: Context, rec: CheckRecord) -> list[Step]:
    steps: list[Step] = []
    if not _user_exists(ctx):
        return [_create_user_step(ctx)] + ([s] if (s := _ensure_policy_step(ctx)) else [])
    user = ctx.cfg.user_name
    up = ctx.inv.user_policies(user)
    required = expand(ctx.cfg.required_actions)
    ours = _policy_state(ctx).get("PolicyArn")
    by_group: dict[str, list[Any]] = {}
    for d in up.documents:
        if d.via_group:
            by_group.setdefault(d.via_group, []).append(d)
    groups_done: set[str] = set()
    kept = []
    for d in up.documents:
        if d.kind == "managed" and d.arn == ours:
            kept.append(d)
            continue
        extra = _extras(d.label, d.document, required)
        # by ARN, as the audit judges it: a customer policy that merely shares the AWS-managed
        # policy's name is judged by its actions, never detached as "forbidden"
        is_forbidden = (d.kind in ("managed", "group-managed")
                        and forbidden_match(d.arn, ctx.cfg.forbidden_policies) is not None)
        if not is_forbidden and extra == []:
            kept.append(d)
            continue
        reason = ("a forbidden policy" if is_forbidden else
                  "cannot be evaluated" if extra is None else
                  f"allows {len(extra)} action(s) beyond required_actions, e.g. {', '.join(extra[:3])}")
        deny = has_deny(d.document)
        if d.kind == "managed":
            if deny is not False:
                kept.append(d)
                steps.append(manual_step(f"manual:detach:{d.arn}", f"managed policy {d.name} {reason} but "
                             + ("holds a Deny statement (a guardrail)" if deny else "cannot be read as IAM JSON")
                             + f": detaching it would drop that; move the Deny elsewhere, then detach it from {user}",
                             rec))
            else:
                assert d.arn is not None  # a managed policy is named by its ARN
                steps.append(_detach_step(ctx, d.arn, d.name, reason, _unused_surface_affects(ctx, [d.document])))
        elif d.kind == "inline":
            if deny is None:
                kept.append(d)
                steps.append(manual_step(f"manual:inline:{d.name}", f"inline policy {d.name} of {user} cannot be "
                                         "read as IAM JSON: narrow it by hand", rec))
                continue
            new = narrowed(d.document, required)
            if new is not None:
                kept.append(dataclasses.replace(d, document=new))
            surfaces = _unused_surface_affects(ctx, [d.document])
            steps.append(_narrow_inline_step(ctx, d.name, d.document, new, reason, surfaces) if new is not None
                         else _delete_inline_step(ctx, d.name, d.document, reason, surfaces))
        elif d.via_group and d.via_group not in groups_done:
            groups_done.add(d.via_group)
            guard = [g.label for g in by_group[d.via_group] if has_deny(g.document) is not False]
            if guard:
                kept.extend(by_group[d.via_group])
                steps.append(manual_step(f"manual:leave-group:{d.via_group}", f"group {d.via_group} grants too much "
                             f"({d.label}: {reason}) but {guard[0]} holds a Deny statement (a guardrail): leaving "
                             f"the group would drop it; move the Deny to {user}, then remove {user} from the group",
                             rec))
            else:
                steps.append(_leave_group_step(ctx, d.via_group, f"{d.label}: {reason}",
                                               [(g.label, g.document) for g in by_group[d.via_group]],
                                               _unused_surface_affects(ctx, [g.document for g in by_group[d.via_group]])))
    # what stays must still grant required_actions: else our least-privilege policy replaces it
    if not _grants_all(ctx, kept, up.boundary) and (st := _ensure_policy_step(ctx)) is not None:
        steps.insert(0, st)
    return steps


def _unused_surface_affects(ctx: Context, documents: Sequence[Any]) -> list[str]:
    """``["endpoint.unused_surfaces_closed"]`` when one of ``documents`` (what a strip step removes or narrows)
    allows the ``CallWithBearerToken`` action of a surface the workload does not use (the groups that row judges,
    verdicts/endpoint.py ``SURFACES``): removing it closes that surface, which a live waiver there accepts open."""
    from bedrock_key_audit.verdicts.endpoint import SURFACES

    members: dict[str, list[str]] = {}
    for surface in SURFACES.values():
        members.setdefault(surface.action, []).append(surface.name)
    required = {a.lower() for a in expand(ctx.cfg.required_actions)}
    unused = [a for a, names in members.items() if not set(names) & set(ctx.cfg.surfaces) and a.lower() not in required]
    for document in documents:
        try:
            ev = Evaluator([("doc", document)])
        except PolicyError:
            return ["endpoint.unused_surfaces_closed"]  # unreadable: it may allow one
        if any(ev.decide(a).allowed for a in unused):
            return ["endpoint.unused_surfaces_closed"]
    return []


@writes(Write("iam:DetachUserPolicy", R_KEY_USER_CHANGES, partitions=COMMERCIAL))
def _detach_step(ctx: Context, arn: str, name: str, reason: str, affects: Sequence[str] = ()) -> Step:
    user = ctx.cfg.user_name

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        ctx.call("iam", "commercial", "DetachUserPolicy", expected={"NoSuchEntity"}, UserName=user, PolicyArn=arn)
        return {"UserName": user, "PolicyArn": arn, "attached": True}, {"UserName": user, "PolicyArn": arn,
                                                                         "attached": False}

    return Step(key=f"iam.detach:{arn}", order=ORDER_STRIP, action=f"detach managed policy {name} from {user} ({reason})",
                calls=["iam:DetachUserPolicy"], target=ctx.user_arn(), targets=[ctx.user_arn()],
                partition="commercial", destructive=True, run=run, before={"UserName": user, "PolicyArn": arn},
                requires=["iam.ensure-policy"], affects=list(affects))


@writes(Write("iam:DeleteUserPolicy", R_KEY_USER_CHANGES, partitions=COMMERCIAL))
def _delete_inline_step(ctx: Context, name: str, document: Any, reason: str, affects: Sequence[str] = ()) -> Step:
    user = ctx.cfg.user_name
    before = {"UserName": user, "PolicyName": name, "PolicyDocument": _doc(document)}

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        ctx.call("iam", "commercial", "DeleteUserPolicy", expected={"NoSuchEntity"}, UserName=user, PolicyName=name)
        return before, {"PolicyName": name, "deleted": True}

    return Step(key=f"iam.delete-inline:{name}", order=ORDER_STRIP,
                action=f"delete inline policy {name} of {user} ({reason}; it holds no Deny)",
                calls=["iam:DeleteUserPolicy"], target=ctx.user_arn(), targets=[ctx.user_arn()],
                partition="commercial", destructive=True, run=run, before=before, requires=["iam.ensure-policy"],
                affects=list(affects))


@writes(Write("iam:GetUserPolicy", R_KEY_USER_READS, partitions=COMMERCIAL),
        Write("iam:PutUserPolicy", R_KEY_USER_CHANGES, partitions=COMMERCIAL))
def _narrow_inline_step(ctx: Context, name: str, document: Any, new: dict[str, Any], reason: str,
                        affects: Sequence[str] = ()) -> Step:
    """Rewrite an inline policy: Deny statements kept verbatim, Allow statements cut to required_actions."""
    user = ctx.cfg.user_name
    before = {"UserName": user, "PolicyName": name, "PolicyDocument": _doc(document)}

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        cur = ctx.call("iam", "commercial", "GetUserPolicy", UserName=user, PolicyName=name)
        if not _same_document(cur["PolicyDocument"], document):
            raise NeedsPerson(f"inline policy {name} of {user} changed since the plan: rerun the plan")
        ctx.call("iam", "commercial", "PutUserPolicy", UserName=user, PolicyName=name, PolicyDocument=json.dumps(new))
        return before, {"PolicyName": name, "PolicyDocument": new}

    return Step(key=f"iam.narrow-inline:{name}", order=ORDER_STRIP,
                action=f"narrow inline policy {name} of {user} to required_actions ({reason}); its Deny "
                       "statements are kept as they are",
                calls=["iam:GetUserPolicy", "iam:PutUserPolicy"], target=ctx.user_arn(), targets=[ctx.user_arn()],
                partition="commercial", destructive=True, run=run, before=before, requires=["iam.ensure-policy"],
                affects=list(affects))


@writes(Write("iam:RemoveUserFromGroup", R_KEY_USER_CHANGES, partitions=COMMERCIAL))
def _leave_group_step(ctx: Context, group: str, reason: str, documents: Sequence[tuple[str, Any]] = (),
                      affects: Sequence[str] = ()) -> Step:
    user = ctx.cfg.user_name
    before = {"UserName": user, "GroupName": group, "member": True,
              "group_policies": [{"policy": label, "document": _doc(doc)} for label, doc in documents]}

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        ctx.call("iam", "commercial", "RemoveUserFromGroup", expected={"NoSuchEntity"}, UserName=user, GroupName=group)
        return before, {"GroupName": group, "member": False}

    return Step(key=f"iam.leave-group:{group}", order=ORDER_STRIP,
                action=f"remove {user} from group {group} ({reason}; the group holds no Deny)",
                calls=["iam:RemoveUserFromGroup"], target=ctx.user_arn(), targets=[ctx.user_arn()],
                partition="commercial", destructive=True, run=run, before=before, requires=["iam.ensure-policy"],
                affects=list(affects))


@writes(Write("iam:DeleteLoginProfile", R_KEY_USER_CHANGES, partitions=COMMERCIAL),
        Write("iam:DeleteAccessKey", R_KEY_USER_CHANGES, partitions=COMMERCIAL),
        Write("iam:DeleteSigningCertificate", R_KEY_USER_CHANGES, partitions=COMMERCIAL),
        Write("iam:DeleteSSHPublicKey", R_KEY_USER_CHANGES, partitions=COMMERCIAL),
        Write("iam:DeleteServiceSpecificCredential", R_KEY_USER_CHANGES, partitions=COMMERCIAL))
@fixer("iam.user_no_other_credentials")
def fix_user_no_other_credentials(ctx: Context, rec: CheckRecord) -> list[Step]:
    if not _user_exists(ctx):
        return [_create_user_step(ctx)]
    user = ctx.cfg.user_name
    other = ctx.inv.other_credentials(user)
    steps = []
    if other.login_profile:
        def run_lp(ctx: Context, st: Step) -> tuple[Any, Any]:
            ctx.call("iam", "commercial", "DeleteLoginProfile", expected={"NoSuchEntity"}, UserName=user)
            return {"LoginProfile": True}, {"LoginProfile": False}
        steps.append(Step(key="iam.delete-login-profile", order=ORDER_OTHER_CREDS,
                          action=f"delete the console password (login profile) of {user}",
                          calls=["iam:DeleteLoginProfile"], target=ctx.user_arn(), targets=[ctx.user_arn()],
                          partition="commercial", destructive=True, run=run_lp, before={"LoginProfile": True}))
    for ak in other.access_keys:
        kid = ak["AccessKeyId"]
        meta = {"AccessKeyId": kid, "Status": ak.get("Status")}

        def run_ak(ctx: Context, st: Step, kid: str = kid, meta: dict[str, Any] = meta) -> tuple[Any, Any]:
            ctx.call("iam", "commercial", "DeleteAccessKey", expected={"NoSuchEntity"}, UserName=user, AccessKeyId=kid)
            return meta, {"AccessKeyId": kid, "deleted": True}
        steps.append(Step(key=f"iam.delete-access-key:{kid}", order=ORDER_OTHER_CREDS,
                          action=f"delete {str(ak.get('Status', '')).lower()} access key {kid[:8]}… of {user}",
                          calls=["iam:DeleteAccessKey"], target=ctx.user_arn(), targets=[ctx.user_arn()],
                          partition="commercial", destructive=True, run=run_ak, before=meta))
    # the other credential types iam.user_no_other_credentials judges (fixtures/inventory.py
    # other_credentials): each deletion is destructive and names the credential; the public parts
    # (certificate, SSH key) are re-uploadable by their owner, a CodeCommit/Keyspaces password is not
    kinds: tuple[tuple[str, list[Any], str, str, str, Callable[[Context, str], Any]], ...] = (
        ("signing-certificate", other.signing_certificates, "CertificateId", "DeleteSigningCertificate",
         "X.509 signing certificate", lambda c, cid: c.call("iam", "commercial", "DeleteSigningCertificate",
                                                            expected={"NoSuchEntity"}, UserName=user, CertificateId=cid)),
        ("ssh-public-key", other.ssh_public_keys, "SSHPublicKeyId", "DeleteSSHPublicKey", "SSH public key",
         lambda c, cid: c.call("iam", "commercial", "DeleteSSHPublicKey", expected={"NoSuchEntity"}, UserName=user,
                               SSHPublicKeyId=cid)),
        ("service-credential", other.service_credentials, "ServiceSpecificCredentialId",
         "DeleteServiceSpecificCredential", "service-specific credential",
         lambda c, cid: c.call("iam", "commercial", "DeleteServiceSpecificCredential", expected={"NoSuchEntity"},
                               UserName=user, ServiceSpecificCredentialId=cid)),
    )
    for slug, items, id_field, operation, label, delete in kinds:
        for item in items:
            cid = str(item.get(id_field, ""))
            if not cid:
                continue
            meta = {k: item.get(k) for k in (id_field, "Status", "ServiceName", "ServiceUserName", "UploadDate",
                                              "CreateDate") if item.get(k) is not None}
            service = f" for {item['ServiceName']}" if item.get("ServiceName") else ""

            def run_other(ctx: Context, st: Step, delete: Callable[[Context, str], Any] = delete,
                          id_field: str = id_field, cid: str = cid, meta: dict[str, Any] = meta) -> tuple[Any, Any]:
                delete(ctx, cid)
                return meta, {id_field: cid, "deleted": True}
            steps.append(Step(key=f"iam.delete-{slug}:{cid}", order=ORDER_OTHER_CREDS,
                              action=(f"delete {str(item.get('Status', '')).lower()} {label}{service} "
                                      f"{cid[:8]}… of {user}"),
                              calls=[f"iam:{operation}"], target=ctx.user_arn(), targets=[ctx.user_arn()],
                              partition="commercial", destructive=True, run=run_other, before=meta))
    return steps
