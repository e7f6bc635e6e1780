//! Mapping between DCI records and a flat, host-neutral registrant.
//!
//! Reads both record forms found in the wild: the PersonRecord form (`identifier` list,
//! `name` object, `phone_number` list, ...) and the JSON-LD sample form of the spec's examples
//! (`@context`/`@type`/`@id`, a single `identifier` object, `demographic_info` or
//! `personal_details` wrappers, `member_list`/`related_person` for households). A field the
//! mapping does not know is kept in [`Registrant::extras`], never dropped.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// One identifier of a person (`identifier_type`, `identifier_value`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Identifier {
    pub identifier_type: String,
    pub identifier_value: String,
}

/// A postal address; unknown address fields stay in `extras`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Address {
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub locality: Option<String>,
    pub sub_region_code: Option<String>,
    pub region_code: Option<String>,
    pub postal_code: Option<String>,
    pub country_code: Option<String>,
    pub extras: Map<String, Value>,
}

/// A person (or household) as a host stores it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Registrant {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub second_name: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub death_date: Option<String>,
    pub birth_place: Option<String>,
    pub identifiers: Vec<Identifier>,
    pub addresses: Vec<Address>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub household_members: Vec<Registrant>,
    /// Every record field the mapping does not know, as received (including `@context`...).
    pub extras: Map<String, Value>,
}

impl Registrant {
    /// "Given Second Family", from the parts present.
    pub fn full_name(&self) -> Option<String> {
        let parts: Vec<&str> = [&self.given_name, &self.second_name, &self.family_name]
            .iter()
            .filter_map(|p| p.as_deref())
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// The value of the first identifier of this type.
    pub fn identifier(&self, identifier_type: &str) -> Option<&str> {
        self.identifiers
            .iter()
            .find(|i| i.identifier_type.eq_ignore_ascii_case(identifier_type))
            .map(|i| i.identifier_value.as_str())
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn identifier_of(v: &Value) -> Option<Identifier> {
    let o = v.as_object()?;
    let t = ["identifier_type", "type", "id_type"]
        .iter()
        .find_map(|k| o.get(*k).and_then(text))?;
    let val = ["identifier_value", "value", "id_value"]
        .iter()
        .find_map(|k| o.get(*k).and_then(text))?;
    Some(Identifier {
        identifier_type: t,
        identifier_value: val,
    })
}

fn identifiers_of(v: &Value, out: &mut Vec<Identifier>) -> bool {
    match v {
        Value::Array(a) => {
            let mut all = true;
            for x in a {
                match identifier_of(x) {
                    Some(i) => push_unique(out, i),
                    None => all = false,
                }
            }
            all
        }
        Value::Object(_) => match identifier_of(v) {
            Some(i) => {
                push_unique(out, i);
                true
            }
            None => false,
        },
        _ => false,
    }
}

fn push_unique(out: &mut Vec<Identifier>, i: Identifier) {
    if !out.contains(&i) {
        out.push(i);
    }
}

fn strings_of(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(a) => {
            let v: Vec<String> = a.iter().filter_map(text).collect();
            (v.len() == a.len()).then_some(v)
        }
        other => text(other).map(|s| vec![s]),
    }
}

const ADDRESS_FIELDS: [&str; 7] = [
    "address_line1",
    "address_line2",
    "locality",
    "sub_region_code",
    "region_code",
    "postal_code",
    "country_code",
];

fn address_of(v: &Value) -> Option<Address> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(Address {
            address_line1: Some(s.clone()),
            ..Default::default()
        }),
        Value::Object(o) => {
            let mut a = Address::default();
            for (k, val) in o {
                let slot = match k.as_str() {
                    "address_line1" => &mut a.address_line1,
                    "address_line2" => &mut a.address_line2,
                    "locality" => &mut a.locality,
                    "sub_region_code" => &mut a.sub_region_code,
                    "region_code" => &mut a.region_code,
                    "postal_code" => &mut a.postal_code,
                    "country_code" => &mut a.country_code,
                    _ => {
                        a.extras.insert(k.clone(), val.clone());
                        continue;
                    }
                };
                match text(val) {
                    Some(t) => *slot = Some(t),
                    None if val.as_str() == Some("") || val.is_null() => {}
                    None => {
                        a.extras.insert(k.clone(), val.clone());
                    }
                }
            }
            Some(a)
        }
        _ => None,
    }
}

/// Maps a DCI record to a registrant.
pub fn from_dci(record: &Value) -> Registrant {
    let mut r = Registrant::default();
    let Some(obj) = record.as_object() else {
        r.extras.insert("value".into(), record.clone());
        return r;
    };
    for (k, v) in obj {
        if !take(&mut r, k, v) {
            r.extras.insert(k.clone(), v.clone());
        }
    }
    r
}

/// Consumes one record field into the registrant; false = unknown, keep it in extras.
fn take(r: &mut Registrant, k: &str, v: &Value) -> bool {
    match k {
        // Wrappers of the Member and PWD_Person forms: their fields are the person's.
        "demographic_info" | "personal_details" if v.is_object() => {
            let inner = from_dci(v);
            merge(r, inner);
            true
        }
        "identifier" | "identifiers" | "member_identifier" | "group_identifier" => {
            identifiers_of(v, &mut r.identifiers)
        }
        "name" => match v {
            Value::Object(o) => {
                let mut all = true;
                for (nk, nv) in o {
                    let slot = match nk.as_str() {
                        "given_name" | "first_name" => &mut r.given_name,
                        "surname" | "family_name" | "last_name" => &mut r.family_name,
                        "second_name" | "middle_name" => &mut r.second_name,
                        "prefix" => &mut r.prefix,
                        "suffix" => &mut r.suffix,
                        "@type" => continue,
                        _ => {
                            all = false;
                            continue;
                        }
                    };
                    if let Some(t) = text(nv) {
                        *slot = Some(t);
                    }
                }
                all
            }
            Value::String(s) => {
                // A single full-name string: first word given, the rest family.
                let mut it = s.split_whitespace();
                r.given_name = it.next().map(str::to_string);
                let rest: Vec<&str> = it.collect();
                if !rest.is_empty() {
                    r.family_name = Some(rest.join(" "));
                }
                true
            }
            _ => false,
        },
        "given_name" | "first_name" => set(&mut r.given_name, v),
        "surname" | "family_name" | "last_name" => set(&mut r.family_name, v),
        "second_name" | "middle_name" => set(&mut r.second_name, v),
        "sex" | "gender" => set(&mut r.sex, v),
        "birth_date" | "date_of_birth" | "birthdate" | "dob" => set_or_empty(&mut r.birth_date, v),
        "death_date" | "date_of_death" => set_or_empty(&mut r.death_date, v),
        "birth_place" => match v {
            Value::Object(o) => match o.get("name").and_then(text) {
                // Only the name is mapped; a place with more detail stays whole in extras too.
                Some(n) if o.len() == 1 => {
                    r.birth_place = Some(n);
                    true
                }
                Some(n) => {
                    r.birth_place = Some(n);
                    false
                }
                None => false,
            },
            other => set_or_empty(&mut r.birth_place, other),
        },
        "address" | "addresses" => match v {
            Value::Array(a) => {
                let parsed: Vec<Address> = a.iter().filter_map(address_of).collect();
                let ok = parsed.len() == a.len();
                r.addresses.extend(parsed);
                ok
            }
            other => match address_of(other) {
                Some(a) => {
                    r.addresses.push(a);
                    true
                }
                None => other.as_str() == Some(""),
            },
        },
        "phone_number" | "phone_numbers" | "phone" => match strings_of(v) {
            Some(p) => {
                r.phones.extend(p);
                true
            }
            None => false,
        },
        "email" | "emails" => match strings_of(v) {
            Some(e) => {
                r.emails.extend(e);
                true
            }
            None => false,
        },
        "member_list" | "household_members" | "members" => match v {
            Value::Array(a) => {
                r.household_members.extend(a.iter().map(from_dci));
                true
            }
            _ => false,
        },
        "related_person" => match v {
            Value::Array(a) => {
                // `{relationship_type, related_member}`: the member, with its relationship kept.
                for p in a {
                    let member = p.get("related_member").unwrap_or(p);
                    let mut m = from_dci(member);
                    if let Some(rel) = p.get("relationship_type") {
                        m.extras.insert("relationship_type".into(), rel.clone());
                    }
                    r.household_members.push(m);
                }
                true
            }
            _ => false,
        },
        _ => false,
    }
}

fn set(slot: &mut Option<String>, v: &Value) -> bool {
    match text(v) {
        Some(t) => {
            *slot = Some(t);
            true
        }
        None => false,
    }
}

/// Like `set`, but an empty string or null (the spec's samples use `""` for "none") is consumed.
fn set_or_empty(slot: &mut Option<String>, v: &Value) -> bool {
    if v.is_null() || v.as_str() == Some("") {
        return true;
    }
    set(slot, v)
}

fn merge(r: &mut Registrant, o: Registrant) {
    fn fill(a: &mut Option<String>, b: Option<String>) {
        if a.is_none() {
            *a = b;
        }
    }
    fill(&mut r.given_name, o.given_name);
    fill(&mut r.family_name, o.family_name);
    fill(&mut r.second_name, o.second_name);
    fill(&mut r.prefix, o.prefix);
    fill(&mut r.suffix, o.suffix);
    fill(&mut r.sex, o.sex);
    fill(&mut r.birth_date, o.birth_date);
    fill(&mut r.death_date, o.death_date);
    fill(&mut r.birth_place, o.birth_place);
    for i in o.identifiers {
        push_unique(&mut r.identifiers, i);
    }
    r.addresses.extend(o.addresses);
    r.phones.extend(o.phones);
    r.emails.extend(o.emails);
    r.household_members.extend(o.household_members);
    for (k, v) in o.extras {
        r.extras.entry(k).or_insert(v);
    }
}

/// Maps a registrant to a DCI record in the PersonRecord form. Extras are written back as
/// they were received (without overriding a mapped field).
pub fn to_dci(r: &Registrant) -> Value {
    let mut m = Map::new();
    if !r.identifiers.is_empty() {
        m.insert(
            "identifier".into(),
            Value::Array(
                r.identifiers
                    .iter()
                    .map(|i| {
                        json!({"identifier_type": i.identifier_type, "identifier_value": i.identifier_value})
                    })
                    .collect(),
            ),
        );
    }
    let mut name = Map::new();
    for (k, v) in [
        ("given_name", &r.given_name),
        ("second_name", &r.second_name),
        ("surname", &r.family_name),
        ("prefix", &r.prefix),
        ("suffix", &r.suffix),
    ] {
        if let Some(v) = v {
            name.insert(k.into(), json!(v));
        }
    }
    if !name.is_empty() {
        m.insert("name".into(), Value::Object(name));
    }
    for (k, v) in [
        ("sex", &r.sex),
        ("birth_date", &r.birth_date),
        ("death_date", &r.death_date),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    if let Some(p) = &r.birth_place {
        if !r.extras.contains_key("birth_place") {
            m.insert("birth_place".into(), json!({"name": p}));
        }
    }
    if !r.addresses.is_empty() {
        let list = r
            .addresses
            .iter()
            .map(|a| {
                let mut o = Map::new();
                let vals = [
                    &a.address_line1,
                    &a.address_line2,
                    &a.locality,
                    &a.sub_region_code,
                    &a.region_code,
                    &a.postal_code,
                    &a.country_code,
                ];
                for (k, v) in ADDRESS_FIELDS.iter().zip(vals) {
                    if let Some(v) = v {
                        o.insert((*k).into(), json!(v));
                    }
                }
                for (k, v) in &a.extras {
                    o.entry(k.clone()).or_insert(v.clone());
                }
                Value::Object(o)
            })
            .collect();
        m.insert("address".into(), Value::Array(list));
    }
    if !r.phones.is_empty() {
        m.insert("phone_number".into(), json!(r.phones));
    }
    if !r.emails.is_empty() {
        m.insert("email".into(), json!(r.emails));
    }
    if !r.household_members.is_empty() {
        m.insert(
            "member_list".into(),
            Value::Array(r.household_members.iter().map(to_dci).collect()),
        );
    }
    for (k, v) in &r.extras {
        m.entry(k.clone()).or_insert(v.clone());
    }
    Value::Object(m)
}
