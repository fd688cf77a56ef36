"""Leftovers of an earlier run recognised from AWS itself, without its journal (a fresh --reports-dir), and
journals that say how each rotation ended."""
from __future__ import annotations

import types
from typing import Any

from bedrock_key_audit.emulator import aws_faults
from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.remediation import journal, rotation
from bedrock_key_audit.remediation.core import apply_plan, build_plan
from tests.remediation.test_rotation_recovery import _own_keys, runs  # noqa: F401 -- fixture


def test_a_kms_key_of_a_failed_step_is_reused_with_a_fresh_reports_dir(emu, runs, tmp_path):  # noqa: F811
    """Run 1's CreateAlias is denied, so our key stays without its alias; run 2 reads no journal of run 1
    (another --reports-dir) and still gives that key the alias -- found by its tag created-by=bedrock-key-audit
    and description -- instead of making one more."""
    emu.apply("secret_missing")
    keys_before = _own_keys(emu)
    aws_faults.deny("kms:CreateAlias")
    ctx1 = runs(1)
    apply_plan(ctx1, build_plan(ctx1, [CheckRecord("secret.exists", "s", "secret", "high", {}, "x", status="fail")]),
               lambda s, e: None)
    aws_faults.reset()
    made = sorted(set(_own_keys(emu)) - set(keys_before))
    assert len(made) == 1
    ctx2 = runs(2)
    ctx2.journal = journal.Journal(tmp_path / "elsewhere", [])  # nothing of run 1
    steps2 = build_plan(ctx2, [CheckRecord("secret.exists", "s", "secret", "high", {}, "x", status="fail")])
    kms_step = next(s for s in steps2 if s.key == "kms.create:govcloud")
    assert made[0] in kms_step.action and "instead of creating another" in kms_step.action, kms_step.action
    apply_plan(ctx2, steps2, lambda s, e: None)
    assert sorted(set(_own_keys(emu)) - set(keys_before)) == made
    tags = emu.client("kms", "govcloud").list_resource_tags(KeyId=made[0])["Tags"]
    assert {"TagKey": "created-by", "TagValue": "bedrock-key-audit"} in tags


def test_a_key_without_our_tag_is_never_taken_for_ours(emu, runs, tmp_path):  # noqa: F811
    """A key with our description but not our tag (someone else's, or copied): a new key is made."""
    from bedrock_key_audit.remediation.fixers.kms import DESCRIPTION, _tagged_own_key

    emu.apply("secret_missing")
    emu.client("kms", "govcloud").create_key(Description=DESCRIPTION)
    ctx = runs(1)
    assert _tagged_own_key(ctx, "govcloud") is None


def test_an_ended_rotation_closes_every_journal_entry_that_names_it(tmp_path):
    """An earlier run's rotation (create_key, created, write_pending) ends in this run: rolled back by
    credential, or its pending label taken off by version -- no open entry is left for the next run."""
    earlier = journal.Journal(tmp_path / "run1")
    earlier.record("rotation", "r1", "create_key", user="u", before_ids=[])
    earlier.record("rotation", "r1", "created", credential="ACCA1")
    earlier.record("rotation", "r1", "write_pending", credential="ACCA1", version="ACCA1-" + "0" * 32)
    earlier.record("rotation", "r2", "create_key", user="u", before_ids=[])
    earlier.record("rotation", "r2", "write_pending", credential="ACCA2", version="ACCA2-" + "1" * 32)
    j = journal.Journal(tmp_path / "run2", [tmp_path / "run1"])
    ctx: Any = types.SimpleNamespace(journal=j)
    assert set(j.open_entries("rotation")) == {"r1", "r2"}
    rotation.close_entries(ctx, "rolled_back", credential="ACCA1")
    rotation.close_entries(ctx, "rolled_back", version="ACCA2-" + "1" * 32)
    assert j.open_entries("rotation") == {}
    assert journal.Journal(tmp_path / "run3", [tmp_path / "run1", tmp_path / "run2"]).open_entries("rotation") == {}
