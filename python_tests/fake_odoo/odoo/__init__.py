"""A small stand-in for the parts of Odoo the example module touches (python_tests only).

Models are registered by `_name` / `_inherit` and composed when `env[name]` is looked up, so an
`_inherit` class extends the base like Odoo's. Records are recordsets over rows kept in the
Environment; fields are descriptors. Only what the module and its tests use is here.
"""

from . import api, exceptions, fields, http, models  # noqa: F401
from .models import Environment  # noqa: F401
