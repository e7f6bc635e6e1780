"""Model classes, the registry that composes `_inherit` extensions, recordsets and env."""

import itertools

from . import fields as _fields

# One clock for every environment: write_date, like Odoo's, differs across databases and edits.
_CLOCK = itertools.count(1)

# model name -> classes declaring it (`_name`) or extending it (`_inherit`), in import order.
_REGISTRY = {}


class Model:
    _name = None
    _inherit = None

    display_name = _fields.Char()
    write_date = _fields.Datetime()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("_name") or cls.__dict__.get("_inherit")
        if name:
            _REGISTRY.setdefault(name, []).append(cls)

    def __init__(self, env, ids=()):
        self.env = env
        self._ids = tuple(ids)

    # recordset basics
    @property
    def id(self):
        return self._ids[0] if len(self._ids) == 1 else False

    @property
    def ids(self):
        return list(self._ids)

    def __len__(self):
        return len(self._ids)

    def __bool__(self):
        return bool(self._ids)

    def __iter__(self):
        for i in self._ids:
            yield type(self)(self.env, (i,))

    def __getitem__(self, index):
        return type(self)(self.env, (self._ids[index],))

    def __eq__(self, other):
        return type(self) is type(other) and self._ids == other._ids

    def __hash__(self):
        return hash((self._model_name, self._ids))

    def __repr__(self):
        return f"{self._model_name}{self._ids}"

    def ensure_one(self):
        if len(self._ids) != 1:
            raise ValueError(f"Expected singleton: {self!r}")
        return self

    def sudo(self, *_args):
        return self

    def _table(self):
        return self.env.tables.setdefault(self._model_name, {})

    def _row(self):
        return self._table()[self.id]

    @classmethod
    def _fields_of(cls):
        found = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, _fields.Field):
                    found[name] = value
        return found

    # ORM
    def browse(self, ids):
        if isinstance(ids, int):
            ids = [ids]
        return type(self)(self.env, ids)

    def create(self, vals):
        row = {}
        for name, field in self._fields_of().items():
            if isinstance(field, _fields.One2many):
                continue
            value = vals.get(name, field.default_value())
            if isinstance(field, _fields.Selection):
                field.validate(value)
            if isinstance(field, _fields.Many2one) and hasattr(value, "_ids"):
                value = value.id
            row[name] = value
        unknown = set(vals) - set(row)
        if unknown:
            raise ValueError(f"{self._model_name}: unknown fields {sorted(unknown)}")
        new_id = next(self.env.sequence)
        row["write_date"] = self.env.now()
        row.setdefault("display_name", False)
        if not row["display_name"]:
            row["display_name"] = vals.get("name") or f"{self._model_name},{new_id}"
        self._table()[new_id] = row
        return self.browse(new_id)

    def write(self, vals):
        fields = self._fields_of()
        for record in self:
            row = record._row()
            for name, value in vals.items():
                if name not in fields:
                    raise ValueError(f"{self._model_name}: unknown field {name}")
                row[name] = value.id if hasattr(value, "_ids") else value
            row["write_date"] = self.env.now()
        return True

    def search(self, domain, limit=None):
        found = []
        for i, row in self._table().items():
            if all(_holds(row, term) for term in domain):
                found.append(i)
        return self.browse(found[:limit] if limit else found)


def _holds(row, term):
    name, op, value = term
    have = row.get(name, False)
    if hasattr(value, "_ids"):
        value = value.id
    if op == "=":
        return have == value
    if op == "!=":
        return have != value
    if op == "in":
        return have in value
    raise NotImplementedError(f"domain operator {op!r}")


class _Cursor:
    def __init__(self, dbname):
        self.dbname = dbname


class Environment:
    """`env[model]` is the model's empty recordset; rows live here, per environment."""

    def __init__(self, dbname="test"):
        self.cr = _Cursor(dbname)
        self.tables = {}
        self.sequence = itertools.count(1)
        self._classes = {}

    def now(self):
        # Distinct per write, like write_date after an edit.
        return f"2026-01-01 00:00:00.{next(_CLOCK):06d}"

    def __getitem__(self, name):
        cls = self._classes.get(name)
        if cls is None:
            declared = _REGISTRY.get(name)
            if not declared:
                raise KeyError(name)
            # Later extensions first in the MRO, as Odoo composes `_inherit`.
            cls = type(name.replace(".", "_"), tuple(reversed(declared)), {"_model_name": name})
            self._classes[name] = cls
        return cls(self, ())
