"""The one place where errors of the libraries the toolkit calls become one line with a hint.

The CLI prints NexusError as it is; everything a boto3 or psycopg call can raise at a user who lacks
credentials, permissions or a network path is mapped here, so no command prints a traceback for them. The
libraries are imported only when such an error is being described.
"""

from __future__ import annotations

from nexus_platform.errors import NexusError

DENIED = (
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
)
THROTTLED = ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def describe(exc: BaseException) -> NexusError | None:
    """`exc` as a one-line NexusError, or None if it is not an error of a library we map."""
    module = type(exc).__module__
    if module.startswith("botocore"):
        return _botocore(exc)
    if module.startswith("psycopg"):
        import psycopg  # noqa: PLC0415

        if isinstance(exc, psycopg.OperationalError):
            return NexusError(
                f"cannot use the PostgreSQL database: {_first_line(exc)}",
                hint="is it running and reachable from here (inside the VPC, or a forwarded port)?",
            )
        if isinstance(exc, psycopg.Error):
            return NexusError(f"PostgreSQL refused: {_first_line(exc)}")
    return None


def _botocore(exc: BaseException) -> NexusError | None:
    from botocore import exceptions as boto  # noqa: PLC0415

    if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
        return NexusError(
            "no AWS credentials found",
            hint="configure them (aws configure, AWS_PROFILE, or an instance/pod role) and retry",
        )
    if isinstance(exc, boto.EndpointConnectionError | boto.ConnectTimeoutError | boto.ReadTimeoutError):
        return NexusError(
            f"cannot reach the AWS endpoint: {_first_line(exc)}",
            hint="check the network path and the region (and AWS_ENDPOINT_URL if set)",
        )
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "?")), str(error.get("Message", "")).strip()
        operation = exc.operation_name
        if code in DENIED or code.startswith("AccessDenied") or code in ("403", "Forbidden"):
            return NexusError(
                f"access denied: {operation} ({code}: {message})",
                hint="the caller's IAM identity needs permission for it (see `aws sts get-caller-identity`)",
            )
        if code in THROTTLED:
            return NexusError(
                f"AWS throttled {operation} even after retries ({code})",
                hint="retry later, or raise the API's quota",
            )
        return NexusError(f"{operation} failed: {code}: {message}")
    if isinstance(exc, boto.BotoCoreError):
        return NexusError(f"AWS call failed: {_first_line(exc)}")
    return None
