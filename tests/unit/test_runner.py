from __future__ import annotations

from nexus_platform.terraform.runner import _describe, _first_error


def test_first_error_of_terraform_output_is_one_line() -> None:
    output = """
╷
│ Error: Invalid value for variable
│
│   on variables.tf line 3:
│ The CIDR must be valid.
╵
"""
    message = _first_error(output)
    assert message.startswith("Invalid value for variable")
    assert "\n" not in message


def test_diagnostic_description_names_the_resource() -> None:
    text = _describe({"summary": "creating X", "detail": "boom\n  happened", "address": "aws_vpc.this"})
    assert text == "aws_vpc.this: creating X: boom happened"
