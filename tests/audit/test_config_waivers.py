"""[[waivers]] in audit.toml: validated by the schema and the loader, one line per mistake."""
from __future__ import annotations

import datetime as dt

import pytest
from bedrock_key_audit.config import ConfigError, load_config

SOON = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=30)).isoformat()
TOO_LATE = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=366)).isoformat()


def _waiver(**fields: str) -> str:
    base = {"check": '"cloudtrail.kms[govcloud]"', "justification": '"log archive bucket policy covers it"',
            "approved_by": '"ciso@example.com"', "expires": SOON}
    base.update(fields)
    return "[[waivers]]\n" + "".join(f"{k} = {v}\n" for k, v in base.items() if v != "")


def test_a_waiver_loads(tmp_path):
    path = tmp_path / "audit.toml"
    path.write_text(_waiver() + _waiver(check='"secret.encrypted_with_cmk@arn:aws-us-gov:secretsmanager:*"',
                                        expires=f'"{SOON}"'))
    (one, two) = load_config(path).waivers
    assert (one.check_id, one.params, one.expires.isoformat()) == ("cloudtrail.kms", ((None, "govcloud"),), SOON)
    assert two.resource == "arn:aws-us-gov:secretsmanager:*" and two.expires.isoformat() == SOON


@pytest.mark.parametrize("fields, message", [
    ({"expires": ""}, "waivers.0: 'expires' is a required property"),
    ({"approved_by": ""}, "waivers.0: 'approved_by' is a required property"),
    ({"justification": '"  "'}, "waivers.0.justification: '  ' is not a valid value"),
    ({"check": '"cloudtrail"'}, "waivers.0.check: 'cloudtrail' is not a valid value"),
    ({"check": '"cloudtrail.kms[]"'}, "waivers.0.check: 'cloudtrail.kms[]' is not a valid value"),
    ({"expires": TOO_LATE}, f"waivers.0.expires: {TOO_LATE} is more than 365 days after the run's date"),
    ({"expires": "2027-01-01T00:00:00Z"}, "waivers.0.expires: '2027-01-01T00:00:00+00:00' is not a valid value"),
    ({"expires": '"2027-02-30"'}, "waivers.0.expires: '2027-02-30' is not a date"),
    ({"owner": '"me"'}, "waivers.0.owner: unknown key"),
])
def test_bad_waiver_one_line(tmp_path, fields, message):
    path = tmp_path / "audit.toml"
    path.write_text(_waiver(**fields))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
