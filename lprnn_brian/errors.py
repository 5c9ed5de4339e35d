"""Errors that carry a message meant for a user: what was wrong and what to do.

The command line turns :class:`UserInputError` into one line on stderr and exit code 2.
"""


class UserInputError(ValueError):
    """Bad input from a user (file, array, option). The message says what to do."""
