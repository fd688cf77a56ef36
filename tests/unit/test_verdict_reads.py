"""Each check declares the parts of the snapshot (the ``Inventory`` reads) its verdict uses, and gets only those."""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import bedrock_key_audit.verdicts as verdicts_pkg
from bedrock_key_audit.checkcore import ALWAYS, VERDICTS, InventoryView, UndeclaredRead
from bedrock_key_audit.inventory.reader import Inventory

for _m in pkgutil.iter_modules(verdicts_pkg.__path__):
    importlib.import_module(f"{verdicts_pkg.__name__}.{_m.name}")


def test_a_verdict_taking_the_inventory_declares_its_reads_and_no_other_does():
    for cid, decl in VERDICTS.items():
        takes = "inventory" in inspect.signature(decl.fn).parameters
        assert bool(decl.reads) == takes, f"{cid}: takes the inventory: {takes}, declares {sorted(decl.reads)}"


def test_every_declared_read_is_one_the_inventory_has():
    for cid, decl in VERDICTS.items():
        for name in decl.reads | ALWAYS:
            assert hasattr(Inventory, name) or name in _instance_attributes(), f"{cid} declares inventory.{name}"


def _instance_attributes() -> set[str]:
    """Names ``Inventory.__init__`` sets on the instance (``self.g``, ``self.run_started``)."""
    tree = ast.parse(inspect.getsource(Inventory))
    return {t.attr for node in ast.walk(tree) if isinstance(node, ast.Assign) for t in node.targets
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"}


def _used_by_module() -> dict[str, set[str]]:
    """``inventory.<name>`` (and ``getattr(inventory, "<name>", ...)``) in each verdict module's source."""
    out: dict[str, set[str]] = {}
    for path in Path(verdicts_pkg.__path__[0]).glob("*.py"):
        used: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "inventory":
                used.add(node.attr)
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                    and isinstance(node.args[0], ast.Name) and node.args[0].id == "inventory"
                    and isinstance(node.args[1], ast.Constant)):
                used.add(str(node.args[1].value))
        out[f"{verdicts_pkg.__name__}.{path.stem}"] = used
    return out


def _reads_reached(module_path: Path, fn_name: str) -> set[str]:
    """``inventory.<name>`` (and ``getattr(inventory, "<name>", ...)``) in ``fn_name`` and every function of its
    module it calls, transitively: each path a verdict can take, whatever the configuration."""
    funcs = {n.name: n for n in ast.parse(module_path.read_text()).body if isinstance(n, ast.FunctionDef)}
    seen: set[str] = set()
    todo = [fn_name]
    used: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in funcs:
            continue
        seen.add(name)
        for node in ast.walk(funcs[name]):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "inventory":
                used.add(node.attr)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                todo.append(node.func.id)
                if (node.func.id == "getattr" and isinstance(node.args[0], ast.Name)
                        and node.args[0].id == "inventory" and isinstance(node.args[1], ast.Constant)):
                    used.add(str(node.args[1].value))
    return used


def test_every_read_a_verdict_reaches_is_declared_by_its_check():
    """Every path, not only those the scenarios take: a read reached only with another configuration (a Mantle
    surface, an unused runtime) must be declared too, or that configuration's row would end error."""
    for cid, decl in VERDICTS.items():
        path = Path(inspect.getsourcefile(decl.fn) or "")
        missing = _reads_reached(path, decl.fn.__name__) - decl.reads - ALWAYS
        assert not missing, f"{cid} reaches inventory.{sorted(missing)} without declaring it"


def test_every_read_a_verdict_module_makes_is_declared_by_one_of_its_checks():
    for module, used in _used_by_module().items():
        declared = set().union(*[d.reads for d in VERDICTS.values() if d.module == module], ALWAYS)
        assert used <= declared, f"{module} reads {sorted(used - declared)} that no @verdict(reads=...) there declares"


class _Inv:
    run_started = None

    def kms_key(self, *a):
        return "meta"

    def secret(self):
        return "the secret"


def test_the_view_answers_declared_reads_and_refuses_the_rest_loudly():
    view = InventoryView(_Inv(), frozenset({"kms_key"}), "secret.encrypted_with_cmk")
    assert view.kms_key("govcloud") == "meta" and view.run_started is None
    with pytest.raises(UndeclaredRead, match=r"secret.encrypted_with_cmk reads inventory.secret"):
        view.secret()
    # not an AttributeError: a getattr default must not stand in for a read the check did not declare
    with pytest.raises(UndeclaredRead):
        getattr(view, "secret", None)
    with pytest.raises(UndeclaredRead):
        view.kms_key = None


def test_every_name_the_read_planner_asks_for_is_a_declared_read_or_a_fixture():
    """A misspelt name in the planner would silently never start its chain."""
    from bedrock_key_audit.inventory import reader

    source = ast.parse(inspect.getsource(reader.Inventory.prefetch).lstrip())
    asked = {str(a.value) for node in ast.walk(source) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Name) and node.func.id == "want"
             for a in node.args if isinstance(a, ast.Constant)}
    asked |= {n for names in reader.PREFETCH_NEEDS.values() for n in names}
    root = Path(__file__).resolve().parents[2]
    fixtures = {node.name for path in [*(root / "fixtures").rglob("*.py"), *(root / "checks").rglob("*.py")]
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.FunctionDef) and any("fixture" in ast.unparse(d) for d in node.decorator_list)}
    known = set().union(*[d.reads for d in VERDICTS.values()]) | fixtures | {p for d in VERDICTS.values() for p in d.derived}
    assert asked - known == set()
