"""audit.toml: a bad file stops the run with one line and pytest's usage-error status, before any AWS call."""
from __future__ import annotations

import pytest

from bedrock_key_audit.config import ConfigError, load_config
from tests.audit.helpers import CHECKS, ROOT


@pytest.mark.parametrize("text, message", [
    ("[credential]\nmax_key_age_days = \"x\"\n", "credential.max_key_age_days: 'x' is not of type 'integer'"),
    ("[foo]\na = 1\n", "foo: unknown key"),
    ("[user]\nnme = \"bob\"\n", "user.nme: unknown key"),
    ("[partitions.govcloud]\nregion = \"us-east-1\"\n", "partitions.govcloud.region: 'us-east-1' is not a region of the AWS GovCloud (US) partition"),
    ("[partitions.commercial]\nregion = \"us-gov-west-1\"\n", "partitions.commercial.region: 'us-gov-west-1' is not a region of the AWS commercial partition"),
    ("[partitions.commercial]\nregion = \"mars-1\"\n", "partitions.commercial.region: 'mars-1' is not a valid value"),
    # a typo the partition's regionRegex accepts: botocore's list of the partition's Regions catches it
    ("[partitions.commercial]\nregion = \"us-esat-1\"\n",
     "partitions.commercial.region: 'us-esat-1' is not a region of the AWS commercial partition; valid Regions: "
     "af-south-1, "),
    ("[partitions.govcloud]\nregion = \"us-gov-north-1\"\n",
     "'us-gov-north-1' is not a region of the AWS GovCloud (US) partition; valid Regions: us-gov-east-1, us-gov-west-1 "),
    ("user = [\n", "not valid TOML"),
    ("[credential]\nmax_key_age_days = 30\nrotate_before_days = 30\n", "credential.rotate_before_days (30) must be less than"),
    ("[policy]\nrequired_actions = [\"InvokeModel\"]\n", "policy.required_actions.0: 'InvokeModel' is not a valid value"),
    ("[endpoint]\nmax_attempts = 0\n", "endpoint.max_attempts: 0 is less than the minimum of 1"),
])
def test_bad_config_one_line(tmp_path, text, message):
    path = tmp_path / "audit.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_defaults_are_the_guides_names():
    cfg = load_config(None)
    assert cfg.user_name == "bedrock-cross-partition-user"
    assert cfg.secret_id == "cross-partition-commercial-creds"
    assert "bedrock:CallWithBearerToken" in cfg.required_actions
    assert "AmazonBedrockFullAccess" in cfg.forbidden_policies
    assert (cfg.max_key_age_days, cfg.rotate_before_days) == (180, 30)
    assert (cfg.region("commercial"), cfg.region("govcloud")) == ("us-east-1", "us-gov-west-1")


def _run(pytester, *args):
    return pytester.runpytest_inprocess(str(CHECKS), f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"),
                                        "-p", "no:cacheprovider", "--no-reports", *args)


def test_bad_config_usage_error_exit_status(pytester, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[credential]\nmax_key_age_days = -1\n")
    result = _run(pytester, "--emulate=compliant", f"--audit-config={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if "credential.max_key_age_days" in line]
    assert len(errors) == 1 and "minimum" in errors[0]


def test_unknown_profile_is_a_usage_error(pytester, tmp_path, monkeypatch):
    cfg = tmp_path / "audit.toml"
    cfg.write_text("[partitions.commercial]\nprofile = \"no-such-profile\"\n")
    empty = tmp_path / "aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    result = _run(pytester, f"--audit-config={cfg}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert any("profile 'no-such-profile' not found" in line for line in result.stderr.lines)


def test_no_credentials_is_a_usage_error(pytester, tmp_path, monkeypatch):
    empty = tmp_path / "aws-config"
    empty.write_text("")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    # no instance metadata service here: botocore must not wait for one
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = _run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert any("no AWS credentials found" in line for line in result.stderr.lines)


def test_unknown_scenario_is_a_usage_error(pytester):
    result = _run(pytester, "--emulate=nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert any("unknown scenario 'nope'" in line for line in result.stderr.lines)
