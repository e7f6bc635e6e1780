"""Field descriptors: a record reads its row; an empty recordset reads False, as in Odoo."""


class Field:
    def __init__(self, *args, default=False, **kwargs):
        self.args = args
        self.default = default
        self.kwargs = kwargs
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def default_value(self):
        return self.default() if callable(self.default) else self.default

    def convert(self, record, value):
        return value

    def __get__(self, record, owner=None):
        if record is None:
            return self
        if not record._ids:
            return self.convert(record, False)
        record.ensure_one()
        return self.convert(record, record._row().get(self.name, False))


class Char(Field):
    pass


class Text(Field):
    pass


class Boolean(Field):
    pass


class Integer(Field):
    pass


class Float(Field):
    pass


class Datetime(Field):
    pass


class Selection(Field):
    def __init__(self, selection, **kwargs):
        super().__init__(**kwargs)
        self.selection = selection

    def validate(self, value):
        allowed = [k for k, _ in self.selection]
        if value is not False and value not in allowed:
            raise ValueError(f"{self.name}: {value!r} is not one of {allowed}")


class Many2one(Field):
    def __init__(self, comodel_name, **kwargs):
        super().__init__(**kwargs)
        self.comodel_name = comodel_name

    def convert(self, record, value):
        target = record.env[self.comodel_name]
        if value is False or value is None:
            return target
        return target.browse(value.id if hasattr(value, "_ids") else value)


class One2many(Field):
    def __init__(self, comodel_name, inverse_name, **kwargs):
        super().__init__(**kwargs)
        self.comodel_name = comodel_name
        self.inverse_name = inverse_name

    def __get__(self, record, owner=None):
        if record is None:
            return self
        target = record.env[self.comodel_name]
        if not record._ids:
            return target
        record.ensure_one()
        return target.search([(self.inverse_name, "=", record.id)])
