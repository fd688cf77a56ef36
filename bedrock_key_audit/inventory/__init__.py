"""The inventory: everything the checks read, gathered once per run, concurrently.

Checks never call AWS.  They ask for session-scoped fixtures (``fixtures/inventory.py``) that read
through :class:`~bedrock_key_audit.inventory.reader.Inventory`; each returns plain data or raises
:class:`bedrock_key_audit.checkcore.CouldNotDecide`, so every check that depends on a read that
failed ends ``error`` with the reason, and the others still run.

Modules, one job each:

- :mod:`.gather` -- the once-only memo and the thread pool (``Gatherer``);
- :mod:`.models` -- the data classes the reads return (``IamUser`` ... ``HttpProbe``);
- :mod:`.errors` -- ``ReadError`` and ``BadRegion``;
- :mod:`.keys` -- Bedrock API key decoding, bearer-token syntax, the secret's region;
- :mod:`.probes` -- classification of a Bedrock HTTP answer;
- :mod:`.reader` -- ``Inventory``, the memoised reads of both partitions;
- :mod:`.bulk` -- fleet mode's account-wide IAM reads (and the one GetAccountAuthorizationDetails per partition);
- :mod:`.access` / :mod:`.traces` / :mod:`.usage` -- the reads of the access, traces and usage checks;
- :mod:`.loggers` -- loggers created before any inventory thread starts.
"""
