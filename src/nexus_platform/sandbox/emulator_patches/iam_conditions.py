"""IAM policy conditions in resource policies (S3 bucket policies): the request's transport counts.

Three moto gaps, one behaviour. AWS applies a statement only when its Condition block matches. moto knows
only StringEquals and treats every other operator (Bool among them) as matching, answers DENIED (not "does
not apply") when a condition fails, and S3 passes no request context; so every TLS-only bucket policy
(`Deny ... Bool aws:SecureTransport = false`, the Terraform state bucket's among them) denied every request.

Fix: conditions are evaluated with the operators of the IAM reference (String*, Arn*, Numeric*, Bool, Null,
with the IfExists and ForAnyValue/ForAllValues forms); a statement whose conditions fail is NEUTRAL,
as in AWS; and S3's bucket-policy check receives `aws:SecureTransport` from the scheme the request really
arrived on (set per request by the emulator's WSGI layer). Plain-HTTP requests to a TLS-only bucket are
denied, as they are on AWS; the sandbox serves HTTPS.
"""

from __future__ import annotations

import contextvars
import fnmatch
from collections.abc import Callable
from typing import Any

from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
from moto.s3.models import FakeBucket

from . import wrap

# "true"/"false" for the request being served; unset outside a request (then no transport condition matches).
SECURE_TRANSPORT: contextvars.ContextVar[str] = contextvars.ContextVar("nexus_secure_transport")


def request_condition_values() -> dict[str, str]:
    value = SECURE_TRANSPORT.get(None)
    return {"aws:SecureTransport": value} if value is not None else {}


def _as_list(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _numeric(test: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(actual: str, expected: str) -> bool:
        left, right = _number(actual), _number(expected)
        return left is not None and right is not None and test(left, right)

    return compare


def _like(actual: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(actual, pattern)


# Positive operators: (actual, expected) -> match. Negated ones are derived below.
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringEqualsIgnoreCase": lambda actual, expected: actual.lower() == expected.lower(),
    "StringLike": _like,
    "ArnEquals": lambda actual, expected: actual == expected,
    "ArnLike": _like,
    "Bool": lambda actual, expected: actual.lower() == expected.lower(),
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def condition_matches(operator: str, key_values: dict[str, Any], context: dict[str, str]) -> bool:
    """One operator block of a Condition element, per the IAM policy evaluation rules."""
    quantifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    for key, expected in key_values.items():
        expected_values = _as_list(expected)
        actual = context.get(key)
        if name == "Null":
            if (actual is None) != (expected_values[0].lower() == "true"):
                return False
            continue
        negated = name in _NEGATED
        test = _OPERATORS.get(_NEGATED.get(name, name))
        if test is None:
            return False  # an operator we cannot evaluate never grants or denies anything
        if actual is None:
            # A missing key matches only the IfExists, negated and ForAllValues forms.
            if not (if_exists or negated or quantifier == "ForAllValues"):
                return False
            continue
        hit = any(test(actual, value) for value in expected_values)
        if hit == negated:
            return False
    return True


def conditions_match(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    return all(condition_matches(operator, values, context) for operator, values in conditions.items())


def apply() -> None:
    @wrap(IAMPolicyStatement, "is_action_permitted")
    def is_action_permitted(  # noqa: PLR0917 - moto's signature
        original: Any,
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> PermissionResult:
        """A statement whose Condition does not match does not apply (NEUTRAL), whatever its Effect."""
        conditions = self._statement.get("Condition")
        if not conditions:
            result: PermissionResult = original(self, action, resource, principal, incoming_condition_values)
            return result
        if not conditions_match(conditions, incoming_condition_values or {}):
            return PermissionResult.NEUTRAL
        unconditional = IAMPolicyStatement({k: v for k, v in self._statement.items() if k != "Condition"})
        result = original(unconditional, action, resource, principal, incoming_condition_values)
        return result

    @wrap(FakeBucket, "get_permission")
    def get_permission(original: Any, self: FakeBucket, action: str, resource: str) -> Any:
        """Evaluate the bucket policy with the request's transport as condition context."""
        if self.policy is None:
            return original(self, action, resource)
        policy = IAMPolicy(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        return policy.is_action_permitted(
            action, resource, incoming_condition_values=request_condition_values()
        )
