"""The one error type a run cannot go on from; the CLI maps it to exit code 2.

Problems *in* the tree (schema violations, policy, drift) are not exceptions: they are
`Finding` values collected in a report and mapped to exit code 1.
"""

from __future__ import annotations


class InputError(Exception):
    """Usage or input error: bad flag, unreadable YAML, unknown customer, missing tool.

    The message is shown to the user as is, so it names the file and field it is about.
    """

    exit_code = 2
