"""The plan's step order: every band (``ORDER_*``) is declared by the module whose steps use it, and
together they keep this order (a step runs after what it needs: a new key only answers Bedrock once
the policy grants ``bedrock:CallWithBearerToken``)."""
from __future__ import annotations

import importlib
import pkgutil

import bedrock_key_audit.remediation as remediation_pkg

# (band, value) in run order
ORDER = [
    ("ORDER_USER", 10), ("ORDER_POLICY", 20), ("ORDER_STRIP", 25), ("ORDER_SURFACE_DENY", 26),
    ("ORDER_OTHER_CREDS", 30), ("ORDER_KMS", 40), ("ORDER_SECRET_RESTORE", 42), ("ORDER_SINGLE_ACTIVE", 45),
    ("ORDER_SECRET_KMS", 48), ("ORDER_ROTATE", 50), ("ORDER_SECRET_REWRITE", 55), ("ORDER_SECRET_POLICY", 58),
    ("ORDER_TRAIL_CREATE", 70), ("ORDER_TRAIL_UPDATE", 75), ("ORDER_BUCKET", 77), ("ORDER_MANUAL", 99),
]


def declared_bands() -> dict[str, tuple[int, str]]:
    """``{band: (value, declaring module)}`` over the remediation package; a band imported elsewhere counts once."""
    out: dict[str, tuple[int, str]] = {}
    for info in pkgutil.walk_packages(remediation_pkg.__path__, remediation_pkg.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.startswith("ORDER_") and isinstance(value, int):
                # the declaring module is the one whose source assigns it
                if f"\n{name} = " in open(module.__file__ or "", encoding="utf-8").read():
                    assert name not in out, f"{name} declared twice: {out[name][1]} and {info.name}"
                    out[name] = (value, info.name)
    return out


def test_bands_keep_the_step_order() -> None:
    bands = declared_bands()
    assert sorted(((n, v) for n, (v, _) in bands.items()), key=lambda nv: (nv[1], nv[0])) == ORDER


def test_each_band_is_declared_by_a_module_that_makes_steps() -> None:
    for name, (_, module) in declared_bands().items():
        assert module.startswith("bedrock_key_audit.remediation."), (name, module)
