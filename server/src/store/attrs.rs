//! Which attributes are indexed, per registry (backend-neutral).
//!
//! An indexed attribute is a dotted path whose values are kept, at every write, as
//! [`dci::query::plan::IndexRow`]s (one per value the path reaches, typed as the core compares
//! them) in an attribute table beside the records. A search test on an indexed path is then
//! answered by the database exactly; a test on any other path still works, by the core's
//! evaluator over the candidates the indexed tests leave (docs/server.md, "Query compilation").

use std::collections::BTreeSet;

use super::{StoreError, StoreResult};
use crate::config::REGISTRIES;

/// The attributes people search by, per registry, as the demo records and the spec's schemas
/// name them (Person, Group / Member, Beneficiary, DisabledPerson, Farmer).
pub const DEFAULT_INDEXES: &[(&str, &[&str])] = &[
    (
        "crvs",
        &[
            "identifier.identifier_value",
            "name.given_name",
            "name.surname",
            "sex",
            "birth_date",
            "death_date",
            "address.region_code",
            "address.locality",
            "registration_date",
        ],
    ),
    (
        "social",
        &[
            "member_identifier.identifier_value",
            "group_identifier",
            "group_identifier.identifier_value",
            "demographic_info.name.given_name",
            "demographic_info.name.surname",
            "demographic_info.sex",
            "demographic_info.birth_date",
            "age",
            "location",
            "relationship",
            "group_type",
            "group_size",
            "poverty_score",
            "registration_date",
        ],
    ),
    (
        "ibr",
        &[
            "beneficiary_identifier.identifier_value",
            "person_identifier.identifier_value",
            "group_identifier",
            "programme.programme_identifier",
            "enrollment_date",
            "enrollment_status",
            "benefit.amount",
        ],
    ),
    (
        "dr",
        &[
            "identifier.identifier_value",
            "name.given_name",
            "name.surname",
            "sex",
            "birth_date",
            "disability_status",
            "disability_level",
            "registration_date",
        ],
    ),
    (
        "fr",
        &[
            "farmer_identifier.identifier_value",
            "identifier.identifier_value",
            "name.given_name",
            "name.surname",
            "sex",
            "birth_date",
            "farm.land_size_ha",
            "farm.livestock_count",
            "farm.crops",
            "farm.location",
            "registration_date",
        ],
    ),
];

/// A set of `(registry, path)` pairs.
pub type IndexSet = BTreeSet<(String, String)>;

/// The default indexes.
pub fn defaults() -> IndexSet {
    DEFAULT_INDEXES
        .iter()
        .flat_map(|(reg, paths)| paths.iter().map(|p| (reg.to_string(), p.to_string())))
        .collect()
}

/// Parses one `--index` value: `REGISTRY:PATH` for one registry, or `PATH` for all of them.
pub fn parse_index(spec: &str) -> StoreResult<Vec<(String, String)>> {
    let spec = spec.trim();
    let (regs, path): (Vec<&str>, &str) = match spec.split_once(':') {
        Some((reg, path)) if REGISTRIES.contains(&reg) => (vec![reg], path),
        _ => (REGISTRIES.to_vec(), spec),
    };
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(StoreError(format!(
            "--index {spec:?}: expected PATH or REGISTRY:PATH with a dotted path (name.given_name)"
        )));
    }
    Ok(regs
        .into_iter()
        .map(|r| (r.to_string(), path.to_string()))
        .collect())
}

/// The indexed paths of one registry.
pub fn paths_of<'a>(set: &'a IndexSet, registry: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    set.iter()
        .filter(move |(r, _)| r == registry)
        .map(|(_, p)| p.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_specs() {
        assert_eq!(
            parse_index("fr:farm.land_size").unwrap(),
            [("fr".to_string(), "farm.land_size".to_string())]
        );
        assert_eq!(parse_index("nickname").unwrap().len(), REGISTRIES.len());
        let e = parse_index("crvs:name..x").unwrap_err();
        assert!(e.to_string().contains("--index \"crvs:name..x\""), "{e}");
    }
}
