//! Queries: builders for the spec's query types, the evaluator and sorting (dci::query).

use dci::query::{self, ExpPredicate, Operator, Predicate, Query};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{json, Value};

use crate::conv;
use crate::errors::IntoPy;

fn operator(op: &str) -> PyResult<Operator> {
    op.parse::<Operator>().py_err()
}

/// A search query of any type (``idtype-value``, ``predicate``, ``expression``, ``graphql``),
/// checked when built. ``to_dict()`` gives ``{"query_type": ..., "query": ...}`` as the
/// ``search_criteria`` of a search request carries them.
#[pyclass(frozen, module = "dci._dci", name = "Query")]
pub struct PyQuery {
    pub inner: Query,
}

#[pymethods]
impl PyQuery {
    /// An identifier lookup: ``{"type": id_type, "value": value}``.
    #[staticmethod]
    fn idtype_value(id_type: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        let value = conv::to_value(value, "value")?;
        let q = query::IdTypeValue::new(id_type, value);
        // Parse back so a malformed value (an object, an empty type) is refused here.
        Ok(PyQuery {
            inner: Query::parse("idtype-value", &q.to_value()).py_err()?,
        })
    }

    /// A predicate query from its items: ``Predicate`` objects or dicts in the wire form
    /// (``{"seq_num", "expression1", "condition", "expression2"}``).
    #[staticmethod]
    fn predicate(items: &Bound<'_, PyAny>) -> PyResult<Self> {
        let v = conv::to_value(items, "items")?;
        let v = match v {
            Value::Array(_) => v,
            other => Value::Array(vec![other]),
        };
        Ok(PyQuery {
            inner: Query::parse("predicate", &v).py_err()?,
        })
    }

    /// A Mongo-style expression: ``filter`` such as ``{"age": {"$lt": 25}}`` or
    /// ``{"$or": [...]}``, with an optional ``collection``.
    #[staticmethod]
    #[pyo3(signature = (filter, collection = None))]
    fn expression(filter: &Bound<'_, PyAny>, collection: Option<&str>) -> PyResult<Self> {
        let filter = conv::to_value(filter, "filter")?;
        let mut expression = serde_json::Map::new();
        if let Some(c) = collection {
            expression.insert("collection".into(), c.into());
        }
        expression.insert("query".into(), filter);
        let wire = json!({
            "type": query::expression::EXPRESSION_TYPE,
            "value": {"expression": Value::Object(expression)},
        });
        Ok(PyQuery {
            inner: Query::parse("expression", &wire).py_err()?,
        })
    }

    /// A GraphQL query string (sent as is; libdci does not evaluate GraphQL).
    #[staticmethod]
    fn graphql(text: &str) -> Self {
        PyQuery {
            inner: Query::Expression(query::Expression::graphql(text)),
        }
    }

    /// Parses ``search_criteria.query`` given its ``query_type`` (plain or namespaced), for
    /// evaluating it: a grammar libdci does not evaluate (GraphQL, a ``query.type`` other than
    /// the Mongo-style expression) is refused here (ValidationError, kind ``query``). To send
    /// such a query, build it with ``Query.graphql``.
    #[staticmethod]
    fn parse(query_type: &str, query: &Bound<'_, PyAny>) -> PyResult<Self> {
        let v = conv::to_value(query, "query")?;
        Ok(PyQuery {
            inner: Query::parse_evaluable(query_type, &v).py_err()?,
        })
    }

    /// The wire ``query_type``.
    #[getter]
    fn query_type(&self) -> &'static str {
        self.inner.to_wire().0
    }

    /// The wire ``query`` value.
    #[getter]
    fn query<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::to_py(py, &self.inner.to_wire().1)
    }

    /// ``{"query_type": ..., "query": ...}``.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (qt, q) = self.inner.to_wire();
        let d = PyDict::new(py);
        d.set_item("query_type", qt)?;
        d.set_item("query", conv::to_py(py, &q)?)?;
        Ok(d)
    }

    /// Whether ``record`` (a dict shaped like a DCI record) matches.
    fn matches(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<bool> {
        let r = conv::to_value(record, "record")?;
        py.detach(|| self.inner.matches(&r)).py_err()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyQuery>() {
            Ok(o) => o.get().inner == self.inner,
            Err(_) => false,
        }
    }

    fn __repr__(&self) -> String {
        let (qt, q) = self.inner.to_wire();
        format!("Query({qt:?}, {q})")
    }
}

/// One predicate item (the spec's ``ExpPredicateWithCondition``):
/// ``Predicate("age", "lt", 25).and_("poverty_score", "lt", 2.5)``.
/// Operators: ``gt``, ``lt``, ``eq``, ``ge``, ``le``, ``in``.
#[pyclass(frozen, module = "dci._dci", name = "Predicate")]
#[derive(Clone)]
pub struct PyPredicate {
    inner: Predicate,
}

impl PyPredicate {
    fn exp(name: &str, op: &str, value: &Bound<'_, PyAny>) -> PyResult<ExpPredicate> {
        Ok(ExpPredicate::new(
            name,
            operator(op)?,
            conv::to_value(value, "attribute_value")?,
        ))
    }
}

/// The `#[pymethods]` of Predicate: first the combinators that join a second expression
/// ``attribute_name operator attribute_value`` to this item (each the core `Predicate` method
/// it names), then the other methods as written.
macro_rules! predicate_methods {
    (
        combinators { $( $(#[$doc:meta])* $name:ident => $join:ident, )* }
        $($methods:tt)*
    ) => {
        #[pymethods]
        impl PyPredicate {
            $(
                $(#[$doc])*
                fn $name(
                    &self,
                    attribute_name: &str,
                    operator: &str,
                    attribute_value: &Bound<'_, PyAny>,
                ) -> PyResult<Self> {
                    let e2 = Self::exp(attribute_name, operator, attribute_value)?;
                    Ok(PyPredicate {
                        inner: self.inner.clone().$join(e2),
                    })
                }
            )*
            $($methods)*
        }
    };
}

predicate_methods! {
    combinators {
        /// ``expression1 AND expression2``.
        and_ => and,
        /// ``expression1 OR expression2``.
        or_ => or,
        /// ``expression1 AND NOT expression2``.
        and_not => and_not,
    }

    /// ``attribute_name operator attribute_value`` as ``expression1``.
    #[new]
    fn new(
        attribute_name: &str,
        operator: &str,
        attribute_value: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        Ok(PyPredicate {
            inner: Predicate::new(Self::exp(attribute_name, operator, attribute_value)?),
        })
    }

    /// ``NOT expression1``.
    fn negated(&self) -> Self {
        PyPredicate {
            inner: self.inner.clone().negated(),
        }
    }

    /// This item with an explicit ``seq_num`` (items without one are numbered 1, 2, ...).
    fn with_seq_num(&self, seq_num: i64) -> Self {
        PyPredicate {
            inner: self.inner.clone().seq_num(seq_num),
        }
    }

    /// The item in its wire form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::to_py(py, &self.inner.to_value())
    }

    fn __repr__(&self) -> String {
        format!("Predicate({})", self.inner.to_value())
    }
}

/// Whether ``record`` matches the query given as on the wire (``query_type`` such as
/// ``"idtype-value"``, ``"predicate"``, ``"expression"``; ``query`` the
/// ``search_criteria.query`` value). Raises ValidationError (kind ``"query"``) naming the
/// broken field of a malformed query.
#[pyfunction]
pub fn matches(
    py: Python<'_>,
    record: &Bound<'_, PyAny>,
    query_type: &str,
    query: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    let r = conv::to_value(record, "record")?;
    let q = conv::to_value(query, "query")?;
    py.detach(|| query::matches(&r, query_type, &q)).py_err()
}

/// A new list of ``records`` ordered by the spec's ``sort`` value
/// (``[{"attribute_name": ..., "sort_order": "asc" | "desc"}]``); stable.
#[pyfunction]
pub fn sort_records<'py>(
    py: Python<'py>,
    records: &Bound<'py, PyList>,
    sort: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let keys = query::parse_sort(&conv::to_value(sort, "sort")?).py_err()?;
    let mut values: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| conv::to_value(&r, &format!("records[{i}]")))
        .collect::<PyResult<_>>()?;
    py.detach(|| query::sort_by_keys(&mut values, &keys));
    let out = PyList::empty(py);
    for v in &values {
        out.append(conv::to_py(py, v)?)?;
    }
    Ok(out)
}
