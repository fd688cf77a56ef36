"""A service-specific condition key of another service than the request's is absent from the request
(``...IfExists`` true, plain operators false); aws:* keys, credential-source keys and non-service prefixes stay unknown."""
from __future__ import annotations

from bedrock_key_audit.policy import RequestContext, Statement, parse_document

BEARER = ("bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken")


def _stmt(op: str, key: str) -> Statement:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": list(BEARER), "Resource": "*",
                                                  "Condition": {op: {key: "bedrock.amazonaws.com"}}}]}
    return parse_document(doc, "scp")[0]


def test_ifexists_on_an_iam_key_holds_for_bedrock_requests() -> None:
    st = _stmt("StringEqualsIfExists", "iam:ServiceSpecificCredentialServiceName")
    for action in BEARER:
        assert st.applies(action, "*", RequestContext()).value is True


def test_a_plain_operator_on_an_iam_key_fails_for_bedrock_requests() -> None:
    st = _stmt("StringEquals", "iam:ServiceSpecificCredentialServiceName")
    assert st.applies("bedrock:CallWithBearerToken", "*", RequestContext()).value is False


def test_the_requests_own_service_keys_and_global_keys_stay_unknown() -> None:
    for key in ("bedrock:BearerTokenType", "aws:PrincipalTag/team", "ec2:SourceInstanceARN",
                "token.actions.githubusercontent.com:sub"):
        st = _stmt("StringEquals", key)
        assert st.applies("bedrock:CallWithBearerToken", "*", RequestContext()).value is None, key


def test_a_known_value_still_wins() -> None:
    st = _stmt("StringEquals", "iam:ServiceSpecificCredentialServiceName")
    ctx = RequestContext({"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"})
    assert st.applies("bedrock:CallWithBearerToken", "*", ctx).value is True


def test_each_bearer_token_type_is_seen_by_its_own_service_only() -> None:
    import datetime as dt

    from bedrock_key_audit.policy import bearer_context

    ctx = bearer_context({"aws:PrincipalArn": "arn:aws:iam::111122223333:user/u"}, dt.datetime(2026, 1, 1))
    on_bedrock = _stmt("StringEquals", "bedrock:BearerTokenType")
    on_mantle = _stmt("StringEquals", "bedrock-mantle:BearerTokenType")
    # the value in the context is LONG_TERM for both keys; each request sees its own service's key only
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": list(BEARER), "Resource": "*",
                                                  "Condition": {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}}]}
    long_term = parse_document(doc, "p")[0]
    assert long_term.applies("bedrock:CallWithBearerToken", "*", ctx).value is True
    assert long_term.applies("bedrock-mantle:CallWithBearerToken", "*", ctx).value is False
    assert on_bedrock.applies("bedrock-mantle:CallWithBearerToken", "*", ctx).value is False
    assert on_mantle.applies("bedrock:CallWithBearerToken", "*", ctx).value is False
    mantle_doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "bedrock-mantle:*", "Resource": "*",
                  "Condition": {"StringEquals": {"bedrock-mantle:BearerTokenType": "LONG_TERM"}}}]}
    assert parse_document(mantle_doc, "p")[0].applies("bedrock-mantle:CallWithBearerToken", "*", ctx).value is True
