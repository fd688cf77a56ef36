"""The snapshot's typed JSON: round trips, pseudonymised keys, the frozen gatherer and the AWS-less replay."""
from __future__ import annotations

import base64
import datetime as dt
import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_key_audit import snapshot
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.inventory.errors import ReadError
from bedrock_key_audit.inventory.gather import Gatherer
from bedrock_key_audit.inventory.keys import decode_key
from bedrock_key_audit.inventory.models import Credential, HttpProbe, IamUser, Secret, SecretText, Trail
from bedrock_key_audit.inventory.reader import _MISSING

UTC = dt.timezone.utc
SECRET = "s3cr3tPartOfTheKeyAbcdEFGH0123456789xyz"
KEY = "ABSK" + base64.b64encode(f"bedrock-user-at-123456789012:{SECRET}".encode()).decode()


def _roundtrip(value, pseudo=None):
    return snapshot.decode(json.loads(json.dumps(snapshot.encode_value(value, pseudo))))


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.datetimes(timezones=st.just(UTC)),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.frozensets(st.text(max_size=8) | st.integers(), max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    | st.dictionaries(st.tuples(st.text(max_size=4), st.text(max_size=4)), inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(plain)
def test_plain_values_round_trip(value):
    assert _roundtrip(value) == value


def test_models_exceptions_and_sentinels_round_trip():
    created = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    values = [
        IamUser("u", True, "arn:aws:iam::123456789012:user/u", "123456789012", created, None, {"UserId": "AIDA"}),
        Credential("ACCA1234567890", "u", "Active", created, None, "alias", "u-at-123456789012"),
        Trail("commercial", "t", "arn", "us-east-1", True, True, True, None, False, False, is_logging=False),
        HttpProbe("list_models", "https://x/foundation-models", 200, "ok", "answered", 1, body={"a": [1]}),
        ("v1", None), _MISSING,
    ]
    for v in values:
        assert _roundtrip(v) == v if v is not _MISSING else _roundtrip(v) is _MISSING
    err = _roundtrip(ReadError("iam:GetUser failed: AccessDenied; grant it"))
    assert type(err) is ReadError and str(err) == "iam:GetUser failed: AccessDenied; grant it"
    cnd = _roundtrip(CouldNotDecide("why"))
    assert type(cnd) is CouldNotDecide and str(cnd) == "why"


def test_secret_keeps_everything_but_the_key():
    text = json.dumps({"bedrock_api_key": KEY, "region": "us-east-1"})
    s = Secret("sid", True, arn="arn", text=SecretText(text), last_changed=dt.datetime(2026, 1, 1, tzinfo=UTC))
    doc = json.dumps(snapshot.encode_value(s))
    assert KEY not in doc and SECRET not in doc and KEY[4:] not in doc
    back = snapshot.decode(json.loads(doc))
    fields = json.loads(back.text.reveal())
    new = fields["bedrock_api_key"]
    assert fields["region"] == "us-east-1" and len(new) == len(KEY) and new != KEY
    assert decode_key(new) == decode_key(KEY)  # ABSK, the identity, the user and the account stay


def test_equal_keys_stay_equal_and_salts_differ():
    p = snapshot.Pseudonymiser()
    assert p.text(KEY) == p.text(f"{KEY}")
    assert snapshot.Pseudonymiser().text(KEY) != snapshot.Pseudonymiser().text(KEY)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + "+/_-=.~ :\"{}", min_size=0, max_size=60))
def test_pseudonyms_keep_the_shape(text):
    p = snapshot.Pseudonymiser(b"fixed")
    out = p.text(text, secret=True)
    assert len(out) == len(text)
    for a, b in zip(text, out, strict=True):
        cls = [c for c in (string.ascii_uppercase, string.ascii_lowercase, string.digits) if a in c]
        assert (b in cls[0]) if cls else a == b


def test_short_term_and_malformed_keys_keep_their_shape():
    p = snapshot.Pseudonymiser()
    short = "bedrock-api-key-" + "QWxhZGRpbjpvcGVuIHNlc2FtZQ" * 2
    assert p.text(short).startswith("bedrock-api-key-") and len(p.text(short)) == len(short) and p.text(short) != short
    bad = "ABSK" + "A" * 10 + "%%"  # not a key the audit can decode: still unknown after
    assert decode_key(p.text(bad, secret=True)) == decode_key(bad)


def test_frozen_gatherer_answers_from_the_snapshot_and_never_fetches():
    live = Gatherer(workers=2)
    live.once(("user", "u"), lambda: IamUser("u", False))
    with pytest.raises(ReadError):
        live.once(("trails", "commercial"), lambda: (_ for _ in ()).throw(ReadError("cloudtrail: denied")))
    doc = json.loads(json.dumps(snapshot.dump_cells(live, snapshot.Pseudonymiser())))
    live.close()
    frozen = snapshot.FrozenGatherer(snapshot.load_cells(doc))

    def fetch():
        raise AssertionError("a replay never fetches")
    assert frozen.once(("user", "u"), fetch) == IamUser("u", False)
    with pytest.raises(ReadError, match="cloudtrail: denied"):
        frozen.once(("trails", "commercial"), fetch)
    with pytest.raises(CouldNotDecide) as info:
        frozen.once(("kms", "govcloud", "key-1"), fetch)
    msg = str(info.value)
    assert "snapshot holds no kms read for govcloud, key-1" in msg and "re-run the audit against AWS" in msg
    assert "\n" not in msg
    frozen.close()


def test_internal_objects_are_transient():
    import threading

    live = Gatherer(workers=2)
    live.once(("lookup-limiter", "us-east-1"), threading.Lock)
    doc = snapshot.dump_cells(live, snapshot.Pseudonymiser())
    live.close()
    assert doc["cells"] == [] and doc["transient"] == [{"__t": "tuple", "v": ["lookup-limiter", "us-east-1"]}]


def _in_thread(fn, timeout=10.0):
    """``fn()``'s (value, exception), or a failure when it has not finished within ``timeout`` seconds (a hang)."""
    import threading

    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 -- handed back to the test
            out["error"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the memo hung"
    return out.get("value"), out.get("error")


def test_transient_cells_computed_from_transient_cells_do_not_hang():
    """A snapshot naming the secret and the fields read from it as transient: the fields' computation reads the
    secret's cell, and a replay computes both again (each read refused), ending in the refusal, not a hang."""
    def refused():
        raise CouldNotDecide("a replay of recorded evidence makes no AWS call")
    frozen = snapshot.FrozenGatherer({}, frozenset({("secret", "s"), ("secret-fields", "s")}))
    for _ in range(2):  # computed once, then answered from the cell
        value, error = _in_thread(lambda: frozen.once(("secret-fields", "s"),
                                                      lambda: frozen.once(("secret", "s"), refused)))
        assert value is None and isinstance(error, CouldNotDecide) and "makes no AWS call" in str(error)
    frozen.close()


def _gatherers():
    return [Gatherer(workers=2), snapshot.FrozenGatherer({}, frozenset({("a",), ("b", "x")}))]


def test_a_cell_that_needs_itself_fails_at_once():
    """A memo cell whose computation reads the same cell, on its own thread, through a pool job or through
    another thread's cell, raises one sentence naming the read instead of waiting for ever (live and replayed
    memos alike)."""
    import threading

    from bedrock_key_audit.inventory.gather import ReadCycle

    def is_cycle(error):
        return (isinstance(error, ReadCycle) and "needs its own result" in str(error)
                and "bug of this tool" in str(error) and "\n" not in str(error))

    for g in _gatherers():
        value, error = _in_thread(lambda g=g: g.once(("a",), lambda: g.once(("a",), lambda: 1)))
        assert is_cycle(error) and "the a read needs" in str(error), error
        g.close()
    for g in _gatherers():  # ("a",) waits on a pool job that reads ("b", "x"), which reads ("a",)
        value, error = _in_thread(lambda g=g: g.once(
            ("a",), lambda: g.wait(g.background(lambda: g.once(("b", "x"), lambda: g.once(("a",), lambda: 1))))))
        assert is_cycle(error), error
        g.close()
    for g in _gatherers():  # the same through fanout's pool jobs
        value, error = _in_thread(lambda g=g: g.once(
            ("a",), lambda: g.fanout([lambda: 0, lambda: g.once(("b", "x"), lambda: g.once(("a",), lambda: 1))])))
        assert is_cycle(error), error
        g.close()
    for g in _gatherers():  # two threads: one computes ("a",) and reads ("b", "x"), the other the reverse
        both = threading.Barrier(2)

        def cross(first, second, g=g, both=both):
            def fn():
                both.wait(5)
                return g.once(second, lambda: 1)
            return lambda: g.once(first, fn)
        other = threading.Thread(target=lambda: _in_thread(cross(("b", "x"), ("a",))), daemon=True)
        other.start()
        value, error = _in_thread(cross(("a",), ("b", "x")))
        other.join(10)
        assert not other.is_alive()
        assert is_cycle(error), error
        g.close()


def test_replay_aws_makes_no_client():
    aws = snapshot.NoAws(cfg=None, calls=None)
    for make in (lambda: aws.client("iam", "commercial", None), lambda: aws.session("govcloud")):
        with pytest.raises(CouldNotDecide, match="makes no AWS call"):
            make()


@pytest.mark.parametrize("tag, cls", [
    ("dc", "os:system"),
    # a class reached through one of the tool's modules, whose instances act when collected
    ("dc", "bedrock_key_audit.reporting.signing:tempfile._TemporaryFileCloser"),
    ("dc", "bedrock_key_audit.cli:os.system"),
    ("dc", "builtins:dict"),
    ("dc", "bedrock_key_audit.snapshot:Transient"),  # the tool's own, but no dataclass
    ("exc", "builtins:eval"),
    ("exc", "bedrock_key_audit.inventory.models:Secret"),  # a dataclass, no exception
    ("sentinel", "bedrock_key_audit.cli:os"),
])
def test_only_this_tools_classes_are_loaded(tag, cls):
    doc = {"__t": tag, "cls": cls, "f": {}, "args": []} if tag != "sentinel" else {"__t": tag, "v": cls}
    with pytest.raises(ValueError, match="not a class a snapshot of this tool holds"):
        snapshot.decode(doc)


def test_a_dataclass_field_it_does_not_have_is_refused():
    with pytest.raises(ValueError, match="fields it does not have"):
        snapshot.decode({"__t": "dc", "cls": "bedrock_key_audit.inventory.models:DecodedKey",
                         "f": {"kind": "unknown", "__class__": {}}})
