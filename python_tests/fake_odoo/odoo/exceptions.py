class UserError(Exception):
    """Odoo's error shown to the user (message in args[0])."""
