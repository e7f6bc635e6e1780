def model(method):
    """Odoo's @api.model: the method works on the (empty) model recordset; nothing to do here."""
    method._api_model = True
    return method
