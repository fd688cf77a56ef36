"""Making clients in worker threads while pytest changes ``os.environ`` from the main thread.

botocore (``botocore.utils.get_environ_proxies``) and httpx (``trust_env``) read the proxy settings
when they make a client, through ``urllib.request.getproxies_environment``, which iterates
``os.environ.items()``: it lists the keys, then looks each one up.  The inventory makes clients in
worker threads while pytest's main thread sets and pops ``PYTEST_CURRENT_TEST`` between rows; a key
popped between the listing and its lookup raises ``KeyError`` (seen in a 1,000-row organization
run: two accounts' trail rows ended ``error``).  The window is a few instructions, so making the
client again reads a consistent environment.  (Reproduced by hand: with ``sys.setswitchinterval(1e-6)``
and a thread setting and popping a variable, about 1 in 150 ``getproxies_environment()`` calls raised;
not a test, since a constant churn can also defeat five attempts.)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

ATTEMPTS = 5


def made_despite_env_changes(make: Callable[[], T]) -> T:
    """``make()``, made again (up to :data:`ATTEMPTS` times) when ``os.environ`` changed under it."""
    for attempt in range(ATTEMPTS):
        try:
            return make()
        except KeyError:  # os.environ changed under the iteration (see the module docstring)
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
