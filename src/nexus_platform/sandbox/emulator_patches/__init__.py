"""Small, tested additions over moto's backends: the AWS behaviour the project's Terraform needs and moto
lacks.

One module per AWS service. Each patch is a function with a docstring naming the AWS behaviour it restores and
why moto (5.2.5) lacks it. Patches are registered in the least invasive way moto allows:

- a new API operation is a new URL route (`add_routes`) plus a new handler method on moto's response class
  (`add_action`); moto dispatches REST operations by matching the request against botocore's service model, so
  a handler named after the operation (snake_case) is all the dispatcher needs;
- where moto's own method must change, it is wrapped in exactly one place by `wrap` (the wrapper receives the
  original as its first argument), never copied.

`apply_all()` installs every patch once per process; it is idempotent and safe to call from tests.
"""

from __future__ import annotations

import importlib
import inspect
import os
import threading
from collections.abc import Callable
from typing import Any

# moto reads some settings when it is imported: the emulator's defaults must be in the environment first.
ENV_DEFAULTS: dict[str, str] = {
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    "MOTO_ACM_VALIDATION_WAIT": "0",
}
for _name, _value in ENV_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

# One module per AWS service (plus IAM policy conditions, which S3 bucket policies need).
PATCH_MODULES = (
    "backup",
    "cloudfront",
    "ec2",
    "eks",
    "elasticache",
    "iam_conditions",
    "kms",
    "rds",
    "route53",
    "s3",
    "secretsmanager",
)

_APPLIED = False
_LOCK = threading.Lock()
# (owner, attribute name) of everything installed or wrapped, for introspection and tests.
INSTALLED: list[tuple[str, str]] = []


def add_routes(urls_module: Any, paths: dict[str, Any]) -> None:
    """Register extra URL paths (moto `urls.py` syntax, `{0}` = the service's base URL) for a service."""
    url_paths: dict[str, Any] = urls_module.url_paths
    for path, handler in paths.items():
        url_paths.setdefault(path, handler)


def add_action(response_cls: type, func: Callable[..., Any], *, replace: bool = False) -> None:
    """Give moto's response class the handler `func` for an operation (named after it, snake_case).

    `replace=True` states that moto's own handler for the operation answers with the wrong shape and is
    replaced."""
    attr = func.__name__
    if (attr in vars(response_cls)) != replace:
        raise RuntimeError(
            f"{response_cls.__name__}.{attr}: exists={attr in vars(response_cls)}, replace={replace}"
        )
    setattr(response_cls, attr, func)
    INSTALLED.append((response_cls.__name__, attr))


def kept(obj: object, name: str) -> dict[str, Any]:
    """A dict the emulator keeps on a moto object (a backend, a cluster) for data moto has no place for.

    Created on first use; it lives and dies with the object, so moto's reset clears it too."""
    value: dict[str, Any] | None = getattr(obj, name, None)
    if value is None:
        value = {}
        setattr(obj, name, value)
    return value


def extend(obj: object, **attributes: Any) -> None:
    """Set attributes a moto model does not declare: AWS API members moto lacks, which its serializer picks up
    by name (e.g. `security_groups` for SecurityGroups)."""
    for name, value in attributes.items():
        setattr(obj, name, value)


def wrap(owner: type, attr: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: replace `owner.attr` by the decorated function, called as `func(original, self, *args,
    **kw)`."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        original = getattr(owner, attr)
        static = isinstance(inspect.getattr_static(owner, attr), staticmethod)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(original, *args, **kwargs)

        wrapper.__name__ = attr
        wrapper.__qualname__ = f"{owner.__name__}.{attr}"
        wrapper.__doc__ = func.__doc__
        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(owner, attr, staticmethod(wrapper) if static else wrapper)
        INSTALLED.append((owner.__name__, attr))
        return func

    return decorator


def apply_all() -> None:
    """Install every patch (once per process)."""
    global _APPLIED  # noqa: PLW0603 - patching moto is process-wide by nature
    with _LOCK:
        if _APPLIED:
            return
        # moto is imported only once the environment defaults are set.
        for name in PATCH_MODULES:
            importlib.import_module(f"{__name__}.{name}").apply()
        _APPLIED = True
