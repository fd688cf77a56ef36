"""``bedrock-key-audit init``: write ``audit.toml`` from the user's own AWS configuration.

1. Every profile of the AWS config files (``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE``,
   else ``~/.aws/config`` and ``~/.aws/credentials``) is identified with ``sts:GetCallerIdentity``
   (no permission needed): its partition from the ARN (``arn:aws:`` commercial, ``arn:aws-us-gov:``
   GovCloud) and its account. A profile without a Region is tried in ``us-east-1`` and then in
   ``us-gov-west-1``: each partition refuses the other's credentials (``InvalidClientTokenId``).
   A profile that cannot be identified says why (an SSO profile without a token: ``aws sso login``).
2. It proposes one commercial and one GovCloud profile (the only one of its partition, else the
   first by name; interactively it asks).
3. It looks for the key's user (``iam:ListServiceSpecificCredentials`` for every user, Bedrock
   keys only) and the secret (``secretsmanager:ListSecrets``: the setup guide's name, else one
   whose name says ``bedrock``), or asks, and proposes the model.
4. Every answer has a flag (``--commercial-profile``, ``--govcloud-profile``, ``--user``,
   ``--secret``, ``--model``, the Regions), so CI runs it without a terminal: without one, nothing
   is asked and what cannot be decided stops it with one line naming the flag.
5. It never overwrites a file without ``--force``; what it writes is validated like any
   configuration (fixtures/config.py) before it is kept.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, Callable

import botocore.config
import botocore.exceptions

PARTITIONS = ("commercial", "govcloud")
PROBE_REGIONS = {"commercial": "us-east-1", "govcloud": "us-gov-west-1"}
ARN_PARTITION = {"aws": "commercial", "aws-us-gov": "govcloud"}
REFUSED = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "AuthFailure"}
_CLIENT_CONFIG = botocore.config.Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5,
                                        read_timeout=15, user_agent_extra="bedrock-key-audit/0.1 init")


class InitError(Exception):
    """One line: why init stops (exit status 2; 4 for a configuration that does not validate)."""


@dataclasses.dataclass
class Profile:
    name: str
    partition: str | None = None  # commercial | govcloud
    account: str | None = None
    arn: str | None = None
    region: str | None = None  # the Region it answered in
    problem: str | None = None

    def line(self) -> str:
        if self.problem:
            return f"  {self.name}: {self.problem}"
        return f"  {self.name}: {self.partition}, account {self.account}, {self.arn}"


def _session(profile: str | None, region: str | None = None) -> Any:
    """A boto3 session of ``profile`` (None: the standard chain).  A missing profile is InitError
    naming where its name came from (``AWS_PROFILE`` for the standard chain)."""
    import boto3

    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        from bedrock_key_audit.doctor import profile_env

        env = profile_env()
        if profile is None and env:
            raise InitError(f"the environment variable {env[0]}={env[1]!r} names an AWS profile not found in the AWS "
                            "config files: unset it, or pass the profiles (--commercial-profile, --govcloud-profile)"
                            ) from None
        raise InitError(f"AWS profile {profile!r} not found in the AWS config files") from None


def _profile_region(name: str) -> str | None:
    """The ``region`` of profile ``name`` in the AWS config files (None when it has none)."""
    import botocore.session

    region = botocore.session.Session().full_config.get("profiles", {}).get(name, {}).get("region")
    return str(region) if region else None


def identify(name: str, first: str | None = None) -> Profile:
    """The partition and account of profile ``name`` (see the module docstring), tried first in
    ``first`` (the Region given for the partition the profile was named for).

    Each Region is tried with a session whose Region is that one: a ``role_arn`` profile's
    ``sts:AssumeRole`` goes to STS in the session's Region, so a GovCloud role profile without a
    ``region`` must be tried with a GovCloud Region, not only its GetCallerIdentity call."""
    from bedrock_key_audit.doctor import SSO_ERRORS, provider_problem

    out = Profile(name)
    if name not in profiles():
        out.problem = "profile not found"
        return out
    regions = [r for r in (_profile_region(name), first, *PROBE_REGIONS.values()) if r]
    regions = list(dict.fromkeys(regions))
    last = "refused in every partition"
    for region in regions:
        try:
            sess = _session(name, region)
            who = sess.client("sts", region_name=region, config=_CLIENT_CONFIG).get_caller_identity()
        except SSO_ERRORS:
            out.problem = f"the SSO token is missing or expired: run `aws sso login --profile {name}`"
            return out
        except botocore.exceptions.NoCredentialsError:
            out.problem = "no credentials in this profile"
            return out
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            provider = provider_problem(exc, name)
            if provider and not (code in REFUSED and region != regions[-1]):
                out.problem = provider
                return out
            if code in REFUSED:
                last = f"credentials refused ({code}) in {', '.join(regions)}"
                continue
            out.problem = f"sts:GetCallerIdentity failed with {code}"
            return out
        except InitError as exc:
            out.problem = str(exc)
            return out
        except botocore.exceptions.BotoCoreError as exc:
            out.problem = f"cannot identify: {type(exc).__name__}: {exc}"
            return out
        arn = str(who.get("Arn") or "")
        out.partition = ARN_PARTITION.get(arn.split(":")[1] if arn.count(":") >= 2 else "")
        out.account, out.arn, out.region = who.get("Account"), arn, region
        if out.partition is None:
            out.problem = f"a partition the audit does not cover ({arn})"
        return out
    out.problem = last
    return out


def profiles() -> list[str]:
    """Every profile name of the AWS config files, sorted."""
    import botocore.session

    # botocore's session, not boto3's: boto3.Session() resolves AWS_PROFILE at once and a stale one
    # would stop the listing with ProfileNotFound.
    return sorted(botocore.session.Session().full_config.get("profiles", {}))


def _ask(interactive: bool, prompt: str, choices: list[str], default: str | None, flag: str) -> str:
    """The user's answer (interactive), else ``default``; no default and no terminal: InitError naming ``flag``."""
    if not interactive:
        if default is None:
            raise InitError(f"{prompt}: cannot decide without a terminal ({', '.join(choices) or 'no candidate'}); "
                            f"pass {flag}")
        return default
    shown = f" [{', '.join(choices)}]" if choices else ""
    answer = input(f"{prompt}{shown} ({'default ' + default if default else 'required'}): ").strip()
    if not answer and default is None:
        raise InitError(f"{prompt}: no answer; pass {flag}")
    return answer or default or ""


def _pick(interactive: bool, what: str, candidates: list[str], fallback: str | None, flag: str,
          strict: bool = False) -> str:
    """One of ``candidates`` (``strict``: nothing else), the only one, or ``fallback``."""
    default = candidates[0] if len(candidates) == 1 else fallback if fallback in candidates or not candidates else None
    if default is None and candidates and not interactive:
        raise InitError(f"{what}: several candidates ({', '.join(candidates)}); pass {flag}")
    answer = _ask(interactive, what, candidates, default, flag)
    if strict and answer not in candidates:
        raise InitError(f"{what}: {answer!r} is not one of {', '.join(candidates)}; pass {flag}")
    return answer


def find_users(sess: Any, region: str) -> list[str] | None:
    """Users holding a Bedrock API key (``ListServiceSpecificCredentials``, ``AllUsers``), or None if unreadable."""
    iam = sess.client("iam", region_name=region, config=_CLIENT_CONFIG)
    users: set[str] = set()
    params: dict[str, Any] = {"ServiceName": "bedrock.amazonaws.com", "AllUsers": True}
    try:
        while True:
            page = iam.list_service_specific_credentials(**params)
            users |= {c["UserName"] for c in page.get("ServiceSpecificCredentials", [])}
            if not page.get("IsTruncated") or not page.get("Marker"):
                break
            params["Marker"] = page["Marker"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
        return None
    return sorted(users)


def find_secrets(sess: Any, region: str, wanted: str) -> list[str] | None:
    """The guide's secret if it exists, else secrets whose name says ``bedrock``; None if unreadable."""
    sm = sess.client("secretsmanager", region_name=region, config=_CLIENT_CONFIG)
    names: list[str] = []
    try:
        for page in sm.get_paginator("list_secrets").paginate():
            names += [s["Name"] for s in page.get("SecretList", [])]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
        return None
    if wanted in names:
        return [wanted]
    return sorted(n for n in names if "bedrock" in n.lower())


def _not_found(exc: Exception) -> bool:
    return isinstance(exc, botocore.exceptions.ClientError) and str(
        exc.response.get("Error", {}).get("Code")) in {"NoSuchEntity", "ResourceNotFoundException"}


def _verify_user(sess: Any, region: str, user: str, say: Callable[[str], None]) -> None:
    """``iam:GetUser``: a user that does not exist stops init; one that cannot be read is a warning."""
    try:
        sess.client("iam", region_name=region, config=_CLIENT_CONFIG).get_user(UserName=user)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        if _not_found(exc):
            raise InitError(f"--user {user}: no such IAM user in the commercial account (iam:GetUser); "
                            "pass --no-verify to write it anyway") from None
        say(f"  warning: --user {user} not checked (iam:GetUser: {_why(exc)})")


def _verify_model(sess: Any, region: str, model: str, say: Callable[[str], None]) -> None:
    """The model in the Bedrock catalogue of ``region``: a foundation model (``GetFoundationModel``) or
    an inference profile (``GetInferenceProfile``).  Found by neither: init stops; unreadable: warning."""
    client = sess.client("bedrock", region_name=region, config=_CLIENT_CONFIG)
    lookups: tuple[tuple[str, Callable[[], Any]], ...] = (
        ("get_foundation_model", lambda: client.get_foundation_model(modelIdentifier=model)),
        ("get_inference_profile", lambda: client.get_inference_profile(inferenceProfileIdentifier=model)))
    for method, lookup in lookups:
        try:
            lookup()
            return
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            if not (_not_found(exc) or isinstance(exc, botocore.exceptions.ClientError)
                    and exc.response.get("Error", {}).get("Code") == "ValidationException"):
                say(f"  warning: --model {model} not checked (bedrock:{method}: {_why(exc)})")
                return
    raise InitError(f"--model {model}: neither a foundation model nor an inference profile in {region} "
                    "(bedrock GetFoundationModel, GetInferenceProfile); pass --no-verify to write it anyway")


def _why(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def _other_regions(region: str) -> list[str]:
    """The GovCloud Regions of botocore's endpoint data for Secrets Manager, ``region`` first."""
    from bedrock_key_audit.config import partition_regions

    return [region] + [r for r in partition_regions("govcloud") if r != region]


def _secret_found(sess: Any, region: str, secret: str) -> bool | None:
    try:
        sess.client("secretsmanager", region_name=region, config=_CLIENT_CONFIG).describe_secret(SecretId=secret)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        return False if _not_found(exc) else None
    return True


def _moved(region: str, there: str, what: str, given: str | None, say: Callable[[str], None]) -> str:
    """The Region to write: ``there`` (where ``what`` was found), unless the Region was given by flag."""
    if given:
        say(f"  warning: {what} is not in {region} but in {there}: keeping --govcloud-region {region}")
        return region
    say(f"  {what} found in {there}, not in {region}: using region {there} for GovCloud")
    return there


def _verify_secret(sess: Any, region: str, secret: str, given: str | None, say: Callable[[str], None]) -> str:
    """``DescribeSecret`` in ``region``, then in the partition's other Regions (Secrets Manager is
    regional); returns the Region to write.  Found nowhere: init stops; unreadable: warning."""
    for where in _other_regions(region):
        found = _secret_found(sess, where, secret)
        if found is None:
            say(f"  warning: --secret {secret} not checked in {where} (secretsmanager:DescribeSecret refused or failed)")
            return region
        if found:
            return region if where == region else _moved(region, where, f"secret {secret}", given, say)
    raise InitError(f"--secret {secret}: no such secret in any GovCloud Region ({', '.join(_other_regions(region))}); "
                    "pass --no-verify to write it anyway")


def _unlisted_user(sess: Any, region: str, interactive: bool, no_verify: bool, listing: str,
                   say: Callable[[str], None]) -> str:
    """The user when no Bedrock key could be listed: the setup guide's name only if ``iam:GetUser``
    finds it; else asked (a terminal) or init stops naming ``--user``.  Nothing unverified is written."""
    from bedrock_key_audit.config import DEFAULTS

    default = str(DEFAULTS["user"]["name"])
    try:
        sess.client("iam", region_name=region, config=_CLIENT_CONFIG).get_user(UserName=default)
        return default
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        why = "does not exist" if _not_found(exc) else f"could not be checked (iam:GetUser: {_why(exc)})"
    if not interactive:
        raise InitError(f"IAM user: {listing} Bedrock API keys in the commercial account and the default user "
                        f"{default} {why}; pass --user NAME")
    say(f"  ({listing} Bedrock API keys; the default user {default} {why})")
    user = _ask(True, "IAM user owning the Bedrock API key", [], None, "--user")
    if not no_verify:
        _verify_user(sess, region, user, say)
    return user


def _unlisted_secret(sess: Any, region: str, given: str | None, interactive: bool, no_verify: bool, listing: str,
                     say: Callable[[str], None]) -> tuple[str, str]:
    """The secret and its Region when none could be listed (the generated auditor policy has no
    ``secretsmanager:ListSecrets``): the setup guide's name only if ``DescribeSecret``, which that policy
    allows, finds it in a GovCloud Region; else asked (a terminal) or init stops naming ``--secret``."""
    from bedrock_key_audit.config import DEFAULTS

    default = str(DEFAULTS["secret"]["id"])
    unreadable: str | None = None
    for where in _other_regions(region):
        found = _secret_found(sess, where, default)
        if found:
            return default, region if where == region else _moved(region, where, f"secret {default}", given, say)
        if found is None and unreadable is None:
            unreadable = where
    why = (f"could not be checked (secretsmanager:DescribeSecret refused or failed in {unreadable})" if unreadable
           else "is in no GovCloud Region")
    if not interactive:
        raise InitError(f"GovCloud secret: {listing} secrets to propose and the default secret {default} {why}; "
                        "pass --secret NAME_OR_ARN")
    say(f"  ({listing} secrets to propose; the default secret {default} {why})")
    secret = _ask(True, "GovCloud secret holding the key", [], None, "--secret")
    if not no_verify:
        region = _verify_secret(sess, region, secret, given, say)
    return secret, region


def _secrets_in_partition(sess: Any, region: str, wanted: str, given: str | None,
                          say: Callable[[str], None]) -> tuple[str, list[str] | None]:
    """The Region to write and the candidate secrets: ``region``'s, else the first other GovCloud
    Region that has some (Secrets Manager is regional: a profile's Region need not be the secret's)."""
    first: list[str] | None = None
    for where in _other_regions(region):
        secrets = find_secrets(sess, where, wanted)
        if where == region:
            first = secrets
            if secrets is None:
                say(f"  (cannot list the GovCloud account's secrets in {where}: secretsmanager:ListSecrets)")
            if secrets:
                return region, secrets
        elif secrets:
            return _moved(region, where, f"secret {', '.join(secrets)}", given, say), secrets
    return region, first


def _toml(value: str) -> str:
    return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's


def render(answers: dict[str, Any], found: dict[str, Profile | None]) -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    lines = [f"# Written by `bedrock-key-audit init` on {now}; check it, then run `bedrock-key-audit doctor`.",
             "# Every key and its default: the shipped audit.toml and schemas/config.schema.json.", "",
             "[user]", f"name = {_toml(answers['user'])}", ""]
    for part in PARTITIONS:
        lines.append(f"[partitions.{part}]")
        prof = answers[f"{part}_profile"]
        who = found.get(part)
        if prof:
            note = f"    # account {who.account}, {who.arn}" if who and who.account else ""
            lines.append(f"profile = {_toml(prof)}{note}")
            if who and who.account and who.partition == part:
                # `bedrock-key-audit policy` names it in ARNs; doctor warns when the credentials are another's
                lines.append(f"account = {_toml(who.account)}")
        else:
            lines.append("# no profile: the standard credential chain (environment, instance or task role)")
        lines += [f"region = {_toml(answers[f'{part}_region'])}", ""]
    lines += ["[secret]", f"id = {_toml(answers['secret'])}", "", "[endpoint]",
              f"model_id = {_toml(answers['model'])}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None, interactive: bool | None = None,
         say: Callable[[str], None] = print) -> int:
    """``bedrock-key-audit init [flags]``: 0 written, 2 cannot decide / exists, 4 does not validate."""
    from bedrock_key_audit.config import DEFAULTS, ConfigError, load_config, partition_regions

    parser = argparse.ArgumentParser(prog="bedrock-key-audit init",
                                     description="Write audit.toml from your AWS profiles (asks what it cannot decide).")
    parser.add_argument("--output", "-o", default="audit.toml", metavar="PATH", help="file to write (default ./audit.toml)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.add_argument("--commercial-profile", metavar="NAME", help="profile of the commercial account ('' = standard chain)")
    parser.add_argument("--govcloud-profile", metavar="NAME", help="profile of the GovCloud account ('' = standard chain)")
    parser.add_argument("--commercial-region", metavar="REGION", help="default: the profile's, else us-east-1")
    parser.add_argument("--govcloud-region", metavar="REGION", help="default: the profile's, else us-gov-west-1")
    parser.add_argument("--user", metavar="NAME", help="IAM user that owns the Bedrock API key")
    parser.add_argument("--secret", metavar="NAME_OR_ARN", help="the GovCloud secret holding the key")
    parser.add_argument("--model", metavar="MODEL_ID", help="model or inference profile the endpoint checks call")
    parser.add_argument("--non-interactive", action="store_true", help="never ask (the default without a terminal)")
    parser.add_argument("--no-verify", action="store_true",
                        help="write --user/--secret/--model as given, without looking them up (resources these "
                             "credentials cannot see)")
    ns = parser.parse_args(argv)
    if interactive is None:
        interactive = sys.stdin.isatty() and not ns.non_interactive
    out = Path(ns.output)
    try:
        if out.exists() and not ns.force:
            raise InitError(f"{out} exists; pass --force to overwrite it")
        if not out.parent.is_dir():
            # not created: a mistyped directory would otherwise hold the only copy of the configuration
            raise InitError(f"directory {out.parent} does not exist; create it first (init does not create directories)")
        for part in PARTITIONS:
            # checked before any call: a typo's Region (us-esat-1) has no endpoint, and the flag, not a
            # file init never wrote, is what the user must fix
            region = getattr(ns, f"{part}_region")
            if region and region not in partition_regions(part):
                raise InitError(f"--{part}-region {region}: not a Region of the {part} partition; valid Regions: "
                                f"{', '.join(partition_regions(part))} (botocore's endpoint data)")
        found: dict[str, Profile | None] = {p: None for p in PARTITIONS}
        flags = {p: getattr(ns, f"{p}_profile") for p in PARTITIONS}
        names = profiles()
        identified: list[Profile] = []
        if names:
            say("AWS profiles:")
        for name in names:
            if all(f is not None for f in flags.values()) and name not in flags.values():
                continue  # the profiles were given: identify only those
            named = [p for p in PARTITIONS if flags[p] == name]
            first = (getattr(ns, f"{named[0]}_region") or PROBE_REGIONS[named[0]]) if named else None
            prof = identify(name, first)
            identified.append(prof)
            say(prof.line())
        answers: dict[str, Any] = {}
        for part in PARTITIONS:
            if flags[part] is not None:
                answers[f"{part}_profile"] = flags[part] or None
                given = found[part] = next((p for p in identified if p.name == flags[part]), None)
                if flags[part] and (given is None or given.partition != part):
                    why = ("not found" if given is None else given.problem if given.problem
                           else f"it is {given.partition}")
                    raise InitError(f"--{part}-profile {flags[part]}: not a {part} profile ({why})")
                continue
            mine = [p.name for p in identified if p.partition == part and not p.problem]
            if not mine:
                raise InitError(f"no profile identifies as {part}; add one (docs/real-accounts.md) or pass "
                                f"--{part}-profile NAME ('' for the standard credential chain)")
            choice = _pick(interactive, f"{part} profile", mine, "default" if "default" in mine else None,
                           f"--{part}-profile", strict=True)
            answers[f"{part}_profile"] = choice
            found[part] = next((p for p in identified if p.name == choice), None)
        for part in PARTITIONS:
            given = getattr(ns, f"{part}_region")
            who = found[part]
            answers[f"{part}_region"] = given or (who.region if who and who.region else PROBE_REGIONS[part])
        com = _session(answers["commercial_profile"])
        gov = _session(answers["govcloud_profile"])
        if ns.user:
            answers["user"] = ns.user
            if not ns.no_verify:
                _verify_user(com, answers["commercial_region"], ns.user, say)
        else:
            users = find_users(com, answers["commercial_region"])
            if users is None:
                say("  (cannot list the commercial account's Bedrock keys: iam:ListServiceSpecificCredentials)")
            if users:
                answers["user"] = _pick(interactive, "IAM user owning the Bedrock API key", users, None, "--user")
            else:
                answers["user"] = _unlisted_user(com, answers["commercial_region"], interactive, ns.no_verify,
                                                 "cannot list" if users is None else "found no", say)
        if ns.secret:
            answers["secret"] = ns.secret
            if not ns.no_verify:
                region = _verify_secret(gov, answers["govcloud_region"], ns.secret, ns.govcloud_region, say)
                answers["govcloud_region"] = region
        else:
            region, secrets = _secrets_in_partition(gov, answers["govcloud_region"], DEFAULTS["secret"]["id"],
                                                    ns.govcloud_region, say)
            answers["govcloud_region"] = region
            if secrets:
                answers["secret"] = _pick(interactive, "GovCloud secret holding the key", secrets, None, "--secret")
            else:
                answers["secret"], answers["govcloud_region"] = _unlisted_secret(
                    gov, region, ns.govcloud_region, interactive, ns.no_verify,
                    "cannot list" if secrets is None else "found no", say)
        answers["model"] = ns.model or _ask(interactive, "model id", [], DEFAULTS["endpoint"]["model_id"], "--model")
        if ns.model and not ns.no_verify:
            _verify_model(com, answers["commercial_region"], ns.model, say)
    except InitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = render(answers, found)
    tmp = out.with_name(f".{out.name}.init")
    try:
        tmp.write_text(text)
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        load_config(tmp)
    except ConfigError as exc:
        tmp.unlink()
        print(f"error: {str(exc).replace(str(tmp), str(out))}", file=sys.stderr)
        return 4
    tmp.replace(out)
    say(f"wrote {out}: user {answers['user']}, secret {answers['secret']}, commercial "
        f"{answers['commercial_profile'] or 'standard chain'} ({answers['commercial_region']}), govcloud "
        f"{answers['govcloud_profile'] or 'standard chain'} ({answers['govcloud_region']}); next: bedrock-key-audit doctor")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
