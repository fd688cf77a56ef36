"""scripts/rewrite_moves.py: the tool that applies scripts/moves-23.txt to code written against the old layout."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rewrite_moves", ROOT / "scripts" / "rewrite_moves.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("rewrite_moves", mod)
    spec.loader.exec_module(mod)
    return mod


MODULES = {"bedrock_key_audit.redact": "bedrock_key_audit.redaction",
           "bedrock_key_audit.reporting.sources": "bedrock_key_audit.fixtures.reporting.sources"}
NAMES = {("bedrock_key_audit.fixtures.checks", "CouldNotDecide"): ("bedrock_key_audit.checkcore", "CouldNotDecide"),
         ("bedrock_key_audit.fixtures.inventory", "_classify_http"): ("bedrock_key_audit.inventory.probes",
                                                                       "classify_http")}


def test_a_from_import_is_split_by_the_names_new_homes() -> None:
    src = ("def f():\n    from bedrock_key_audit.fixtures.checks import RECORD, CouldNotDecide  # noqa: F401\n"
           "from bedrock_key_audit.fixtures.inventory import _classify_http\n")
    out = _tool().rewrite_source(src, MODULES, NAMES)
    assert out == ("def f():\n    from bedrock_key_audit.fixtures.checks import RECORD  # noqa: F401\n"
                   "    from bedrock_key_audit.checkcore import CouldNotDecide\n"
                   "from bedrock_key_audit.inventory.probes import classify_http as _classify_http\n")


def test_moved_modules_in_imports_and_dotted_text() -> None:
    src = ("from bedrock_key_audit.reporting import results, sources\nimport bedrock_key_audit.redact\n"
           "x = 'bedrock_key_audit.redact.redact_text'\ny = 'bedrock_key_audit.redaction.MASK'\n")
    out = _tool().rewrite_source(src, MODULES, NAMES)
    assert out == ("from bedrock_key_audit.reporting import results\n"
                   "from bedrock_key_audit.fixtures.reporting import sources\nimport bedrock_key_audit.redaction\n"
                   "x = 'bedrock_key_audit.redaction.redact_text'\ny = 'bedrock_key_audit.redaction.MASK'\n")


def test_the_moves_file_parses_and_each_destination_exists() -> None:
    tool = _tool()
    modules, names = tool.load_moves(ROOT / "scripts" / "moves-23.txt")
    assert modules["bedrock_key_audit.redact"] == "bedrock_key_audit.redaction"
    assert names[("bedrock_key_audit.fixtures.checks", "CouldNotDecide")] == ("bedrock_key_audit.checkcore",
                                                                              "CouldNotDecide")
    for new_mod, new_name in names.values():
        assert hasattr(importlib.import_module(new_mod), new_name), f"{new_mod}.{new_name}"
