"""report.html at fleet size: a User column and rows grouped per user (users with a failing row
first, failing rows first within a user), pass rows collapsed; a single-key report unchanged."""
from __future__ import annotations

import html
import json
import re
from types import SimpleNamespace
from typing import Any

from bedrock_key_audit.fixtures.reporting import html_columns as hc
from bedrock_key_audit.fixtures.reporting.rundir import RunState

FLEET = '''
import pytest

@pytest.mark.parametrize("audited_user", ["zed", "amy", "bob"])
@pytest.mark.check("iam.user_exists")
def test_user(check, audited_user):
    check.resource = f"arn:aws:iam::123456789012:user/{audited_user}"
    if audited_user == "zed":
        check.fail(f"IAM user {audited_user} is missing")
    check.passed(f"IAM user {audited_user} exists")

@pytest.mark.parametrize("audited_user", ["zed", "amy", "bob"])
@pytest.mark.check("credential.unexpired")
def test_key(check, audited_user):
    check.resource = f"arn:aws:iam::123456789012:user/{audited_user}"
    if audited_user == "bob":
        check.fail("the key of bob expires in 3 days")
    check.passed("the key expires in 170 days")

@pytest.mark.check("cloudtrail.kms")
def test_trail(check):
    check.resource = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"
    check.passed("trail main is encrypted")
'''


def _data(page: str) -> dict[str, Any]:
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None
    data: dict[str, Any] = json.loads(html.unescape(blob.group(1)))
    return data


def _rec(status: str, user: str | None = None, account: str | None = None) -> dict[str, Any]:
    params = {k: v for k, v in (("account", account), ("audited_user", user)) if v}
    return {"check_id": "iam.user_exists", "status": status, "params": params}


def test_user_of_names_the_user_the_account_or_the_run():
    assert hc.user_of(_rec("pass", "alice")) == "alice"
    assert hc.user_of(_rec("pass", "alice", "prod")) == "prod/alice"
    assert hc.user_of(_rec("pass", None, "prod")) == "(account prod)"
    assert hc.user_of(_rec("pass")) == "(run)"
    assert hc.user_of(None) == hc.user_of({}) == "(not a check)"


def test_group_tests_puts_failing_users_first_and_pass_rows_last():
    records = {
        "t[amy]a": _rec("pass", "amy"), "t[zed]a": _rec("pass", "zed"), "t[bob]a": _rec("pass", "bob"),
        "t[amy]b": _rec("pass", "amy"), "t[zed]b": _rec("fail", "zed"), "t[bob]b": _rec("error", "bob"),
        "trail": _rec("pass"), "t[bob]c": _rec("skip", "bob"),
    }
    tests = {n: [{"id": n}] for n in records}
    out = hc.group_tests(tests, records)
    assert list(out) == ["t[zed]b", "t[zed]a",               # zed: a fail
                         "t[bob]b", "t[bob]c", "t[bob]a",    # bob: an error (then skip, then pass)
                         "trail",                            # "(run)": all pass, sorts before names
                         "t[amy]a", "t[amy]b"]               # amy: all pass, the run's order kept
    assert all(out[n] is tests[n] for n in tests)  # rows are moved, not copied


def test_header_and_row_add_the_user_column_only_when_grouped():
    base = ['<th class="sortable" data-column-type="result">Result</th>', "<th>Test</th>", "<th>Duration</th>"]
    single, fleet = list(base), list(base)
    hc.table_header(single)
    hc.table_header(fleet, grouped=True)
    assert [c for c in fleet if c not in single] == ['<th class="sortable" data-column-type="user">User</th>']
    assert fleet.index('<th class="sortable" data-column-type="user">User</th>') == 2

    st = RunState.__new__(RunState)
    st.html_relabeled = set()
    rec = dict(_rec("pass", "amy"), severity="high", resource="arn:aws:iam::123456789012:user/amy",
               detail="ok", controls={})
    report = SimpleNamespace(nodeid="test_m.py::test_user[amy]", when="call", check_record=rec,
                             user_properties=[("check_record", rec)])
    cells_single = ['<td class="col-result">Passed</td>', "<td>id</td>", "<td>1 ms</td>"]
    cells_fleet = list(cells_single)
    hc.table_row(st, report, cells_single)
    hc.table_row(st, report, cells_fleet, grouped=True)
    assert len(cells_fleet) == len(cells_single) + 1 and cells_fleet[2] == '<td class="col-user">amy</td>'
    assert cells_fleet[3:] == cells_single[2:]


def test_apply_grouping_keeps_a_chosen_initial_sort():
    class Data:
        def __init__(self, initial: str) -> None:
            self.data: dict[str, Any] = {"tests": {"b": [1], "a": [2]}, "initialSort": initial}

        def set_data(self, key: str, value: Any) -> None:
            self.data[key] = value

    st = RunState.__new__(RunState)
    st.records = {"a": _rec("fail", "u1"), "b": _rec("pass", "u2")}
    for initial, expect in (("result", "original"), ("duration", "duration")):
        st.html_data = Data(initial)
        hc.apply_grouping(st)
        assert list(st.html_data.data["tests"]) == ["a", "b"] and st.html_data.data["initialSort"] == expect


def test_fleet_report_is_grouped_per_user_and_collapses_pass_rows(audit_dir):
    audit_dir.pytester.makepyfile(test_fleet=FLEET)
    audit_dir.run("--all-keys")
    data = _data((audit_dir.latest() / "report.html").read_text())
    order = [(re.search(r'col-user">(.*?)<', "".join(t[0]["resultsTableRow"])).group(1), t[0]["result"])
             for t in data["tests"].values()]
    assert order == [("bob", "Failed"), ("bob", "Passed"), ("zed", "Failed"), ("zed", "Passed"),
                     ("(run)", "Passed"), ("amy", "Passed"), ("amy", "Passed")]
    assert data["initialSort"] == "original"
    assert data["renderCollapsed"] == ["passed"]  # pytest-html's default: pass rows open collapsed
    assert all(t[0]["user"] == u for t, (u, _r) in zip(data["tests"].values(), order, strict=True))  # the sortable value


def test_single_key_report_has_no_user_column_and_keeps_its_order(audit_dir):
    audit_dir.pytester.makepyfile(test_fleet=FLEET)
    audit_dir.run()
    page = (audit_dir.latest() / "report.html").read_text()
    data = _data(page)
    assert 'data-column-type="user"' not in page
    assert not any("col-user" in c for t in data["tests"].values() for c in t[0]["resultsTableRow"])
    assert data["initialSort"] == "result"
    assert list(data["tests"]) == sorted(data["tests"], key=list(data["tests"]).index)  # the run's order
    assert [n.split("::")[-1] for n in data["tests"]][:3] == ["test_user[zed]", "test_user[amy]", "test_user[bob]"]


def test_redact_obj_caches_short_strings_with_the_same_result():
    from bedrock_key_audit.redaction import redact_obj, redact_text
    from bedrock_key_audit.redaction.patterns import MASK

    key = "ABSK" + "QmVkcm9ja0FQSUtleS1zZWNyZXQtdmFsdWU" * 3
    doc = {"a": [f"Bearer {key}", ("x", b"raw"), {"ServiceCredentialSecret": "s3cret", "Password": ""}],
           "long": "y" * 300 + key, "n": 3, "none": None, "short": key, "again": key,
           "nested": [{"SecretString": {"api_key": key}}, {"detail": "ok"}]}
    out = redact_obj(doc)
    assert key not in repr(out)
    assert out == {"a": [redact_text(f"Bearer {key}"), ["x", MASK], {"ServiceCredentialSecret": MASK, "Password": ""}],
                   "long": redact_text("y" * 300 + key), "n": 3, "none": None, "short": redact_text(key),
                   "again": redact_text(key), "nested": [{"SecretString": MASK}, {"detail": "ok"}]}
    assert redact_obj(doc) == out  # the cached path gives the same again


def test_ocsf_write_streams_the_same_bytes_as_one_dump(tmp_path):
    from bedrock_key_audit.reporting import ocsf, oscal
    from tests.reporting.test_ocsf import ROWS, RUN

    meta = oscal.load_check_meta(r["id"] for r in ROWS)
    path = ocsf.write(tmp_path / "findings.ocsf.json", RUN, ROWS, meta)
    assert path.read_text() == json.dumps(ocsf.document(RUN, ROWS, meta), indent=2, ensure_ascii=False) + "\n"
    assert len(json.loads(path.read_text())) == len(ROWS) > 1
    assert ocsf.write(tmp_path / "none.json", RUN, [], meta).read_text() == "[]\n"
    assert not list(tmp_path.glob(".*.tmp"))


def test_validate_by_row_shape_finds_what_the_full_validation_finds(audit_dir):
    import copy

    import jsonschema
    import pytest

    from bedrock_key_audit.reporting import results

    masks = results._row_masks(results.RESULTS_SCHEMA)
    assert masks is not None and masks["detail"] == "text" and "id" not in masks and "status" not in masks
    audit_dir.pytester.makepyfile(test_fleet=FLEET)
    audit_dir.run("--all-keys")
    doc = audit_dir.results()
    rows = doc["checks"]
    doc["checks"] = [dict(r, nodeid=f"{r['nodeid']}-{i}", duration_s=r["duration_s"] + i,
                          params={k: f"{v}-{i}" for k, v in r["params"].items()}) for i in range(40) for r in rows]
    shapes = {repr(results._row_shape(r, masks)) for r in doc["checks"]}
    assert len(shapes) <= len(rows) < 40 * len(rows)  # per check id, status and the like, not per user
    results.validate(doc)  # valid
    full = results.validator(results.RESULTS_SCHEMA)
    for key, bad in (("status", "bogus"), ("detail", 5), ("duration_s", -1), ("duration_s", True),
                     ("params", {"audited_user": 1}), ("id", "Not.an.id"), ("unknown", 1), ("started", 3)):
        d = copy.deepcopy(doc)
        d["checks"][77][key] = bad
        expected = jsonschema.exceptions.best_match(full.iter_errors(d))
        with pytest.raises(jsonschema.ValidationError) as exc:
            results.validate(d)
        assert expected is not None and exc.value.message == expected.message
        assert list(exc.value.absolute_path) == list(expected.absolute_path)
        assert list(exc.value.absolute_path)[:2] == ["checks", 77]
    assert full.is_valid(doc)


def test_row_masks_take_no_shortcut_for_a_constrained_or_related_property(tmp_path):
    from bedrock_key_audit.reporting import results

    schema = json.loads(results.RESULTS_SCHEMA.read_text())
    schema["$defs"]["check"]["properties"]["detail"] = {"type": "string", "maxLength": 3}
    p = tmp_path / "a.json"
    p.write_text(json.dumps(schema))
    assert "detail" not in (results._row_masks(p) or {})
    schema["$defs"]["check"]["allOf"] = [{"required": ["id"]}]
    p2 = tmp_path / "b.json"
    p2.write_text(json.dumps(schema))
    assert results._row_masks(p2) is None


EVIDENCE = '''
import pytest

@pytest.mark.check("iam.user_exists")
def test_user(check):
    check.resource = "arn:aws:iam::123456789012:user/bob"
    check.evidence("iam:GetUser", {"User": {"UserName": "bob", "Marker": "EVIDENCE-MARKER"}})
    check.passed("IAM user bob exists")
'''

KEEP = '''
import pytest

@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report):
    for name, value in report.user_properties:
        if name == "check_record":
            open("kept.txt", "a").write(repr(value.get("evidence")) + "\\n")
'''


def test_evidence_is_kept_in_the_record_only_for_the_bundle(audit_dir):
    import base64

    audit_dir.pytester.makepyfile(test_ev=EVIDENCE, keep_plugin=KEEP)
    audit_dir.pytester.syspathinsert()
    audit_dir.run("-p", "keep_plugin")
    kept = (audit_dir.path / "kept.txt").read_text()
    assert kept.strip() == "[]"  # the record the session keeps has no copy of the evidence
    page = (audit_dir.latest() / "report.html").read_text()
    uris = re.findall(r"data:application/json;charset=utf-8;base64,([A-Za-z0-9+/=]+)", page)
    assert any("EVIDENCE-MARKER" in base64.b64decode(u).decode() for u in uris)  # the html extra has it

    (audit_dir.path / "kept.txt").unlink()
    audit_dir.run("-p", "keep_plugin", "--evidence")
    assert "EVIDENCE-MARKER" in (audit_dir.path / "kept.txt").read_text()
    bundle = (audit_dir.latest() / "evidence").rglob("*.json")
    assert any("EVIDENCE-MARKER" in p.read_text() for p in bundle)
