"""The one place where the wheel's errors become what an Odoo user sees.

Every call the module makes to `dci` goes through `user_errors`, so a DCIError (bad data source
field, auth failure, registry rejection, bad signature) reaches the UI as a UserError instead of
a traceback, and the original stays chained for the log.
"""

import contextlib
import functools

import dci

from odoo.exceptions import UserError


def to_user_error(e):
    # DCIError carries the DCI code (or the kind) and the field; the user sees the message.
    detail = e.code or e.kind
    field = getattr(e, "field", None)
    where = f", field {field}" if field and field not in e.message else ""
    return UserError(f"{e.message} ({detail}{where})")


@contextlib.contextmanager
def user_errors():
    try:
        yield
    except dci.DCIError as e:
        raise to_user_error(e) from e


def raises_user_error(method):
    """Decorator form of `user_errors` for a method that calls the wheel."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with user_errors():
            return method(*args, **kwargs)

    return wrapper
