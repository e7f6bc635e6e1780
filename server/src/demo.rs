//! The deterministic demo dataset, and the demo client and sender of `dci serve --demo`.
//!
//! The same `persons` count always gives the same records (a fixed-seed generator and a fixed
//! reference date), across CRVS (Person, with births and deaths), social (Group households
//! and Member), IBR (Beneficiary enrollments), DR (DisabledPerson with Washington Group
//! short-set scores VIS_SS HEAR_SS MOB_SS COG_SS SC_SS COM_SS, 1-4) and FR (Farmer).

use std::path::PathBuf;

use dci::model::{EnvelopeBuilder, SearchRequestBuilder};
use dci::query::IdTypeValue;
use serde_json::{json, Value};

use super::auth::{hash_secret, new_secret};
use super::config::{ServeConfig, REGISTRIES};
use super::store::{Client, NewRecord, Sender, SignaturePolicy, Store};

/// splitmix64: small, fast and the same everywhere (also the seeded generator of the
/// differential query test).
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const GIVEN_F: &[&str] = &[
    "Amina", "Maria", "Elena", "Fatima", "Grace", "Aisha", "Nadia", "Rosa", "Mei", "Priya",
    "Zainab", "Lucia", "Hana", "Esther", "Joy",
];
const GIVEN_M: &[&str] = &[
    "John", "Ahmed", "Carlos", "Samuel", "Ravi", "Musa", "Pedro", "Kofi", "Ali", "David", "Juan",
    "Omar", "Chen", "Peter", "Yusuf",
];
const SURNAMES: &[&str] = &[
    "Okafor", "Martinez", "Santos", "Haddad", "Mensah", "Kumar", "Diallo", "Nguyen", "Garcia",
    "Banda", "Mwangi", "Rahman", "Silva", "Tembo", "Ochieng", "Reyes",
];
const REGIONS: &[&str] = &[
    "central_region",
    "northern_region",
    "southern_region",
    "eastern_region",
    "western_region",
];
const LOCALITIES: &[&str] = &[
    "Riverside",
    "Hilltop",
    "Lakeview",
    "Market Town",
    "Old Quarter",
    "Greenfield",
];
const PROGRAMMES: &[(&str, &str)] = &[
    ("PRG-CT-01", "Cash Transfer"),
    ("PRG-SP-02", "Social Pension"),
    ("PRG-CG-03", "Child Grant"),
    ("PRG-DA-04", "Disability Allowance"),
];
const CROPS: &[&str] = &[
    "maize",
    "rice",
    "cassava",
    "beans",
    "sorghum",
    "coffee",
    "groundnuts",
];
const WG: &[&str] = &["VIS_SS", "HEAR_SS", "MOB_SS", "COG_SS", "SC_SS", "COM_SS"];
const WG_DOMAIN: &[&str] = &[
    "seeing",
    "hearing",
    "mobility",
    "cognition",
    "self_care",
    "communication",
];

/// Reference year for ages (keeps the dataset independent of the clock).
const REF_YEAR: i64 = 2025;

pub fn uin(i: usize) -> String {
    format!("{}", 100_000_000 + i)
}

fn date(y: i64, r: &mut Rng) -> String {
    format!("{y:04}-{:02}-{:02}", 1 + r.below(12), 1 + r.below(28))
}

fn ident(t: &str, v: &str) -> Value {
    json!({"@type": "Identifier", "identifier_type": t, "identifier_value": v})
}

struct P {
    uin: String,
    given: String,
    surname: String,
    sex: &'static str,
    birth_year: i64,
    birth_date: String,
    death_date: Option<String>,
    region: &'static str,
    disabled: bool,
}

/// Generates the dataset for `persons` persons, `chunk` households at a time, calling `sink`
/// with each chunk's records (only for `registries`). The person with index 0 carries the
/// UIN `TEST-001` the SPDCI compliance suite searches for.
pub fn generate(persons: usize, registries: &[&str], mut sink: impl FnMut(Vec<NewRecord>, usize)) {
    let want = |r: &str| registries.contains(&r);
    let mut rng = Rng(0x00D1_CDEC_0DE5_EED5);
    let mut i = 0usize;
    let mut hh = 0usize;
    let mut batch: Vec<NewRecord> = Vec::new();
    let mut done_persons = 0usize;
    while i < persons {
        let size = (1 + rng.below(6) as usize).min(persons - i);
        let region = rng.pick(REGIONS);
        let locality = rng.pick(LOCALITIES);
        let surname = rng.pick(SURNAMES).to_string();
        let hhid = format!("HH-{:07}", hh + 1);
        let mut members: Vec<P> = Vec::with_capacity(size);
        for m in 0..size {
            let idx = i + m;
            let sex = if rng.chance(50) { "female" } else { "male" };
            let given = if sex == "female" {
                rng.pick(GIVEN_F)
            } else {
                rng.pick(GIVEN_M)
            };
            // Heads and spouses are adults; the rest are children, some born last year.
            let birth_year = if m < 2 {
                REF_YEAR - 20 - rng.below(60) as i64
            } else if rng.chance(15) {
                REF_YEAR - 1
            } else {
                REF_YEAR - 1 - rng.below(17) as i64
            };
            let death_date = (m < 2 && REF_YEAR - birth_year > 60 && rng.chance(20))
                .then(|| date(REF_YEAR - 1 - rng.below(3) as i64, &mut rng));
            let uin = if idx == 0 {
                "TEST-001".to_string()
            } else {
                uin(idx)
            };
            members.push(P {
                uin,
                given: given.to_string(),
                surname: surname.clone(),
                sex,
                birth_year,
                birth_date: date(birth_year, &mut rng),
                death_date,
                region,
                disabled: rng.chance(12),
            });
        }
        let address = json!({"@type": "Address", "address_line1": format!("{} {} Road", 1 + rng.below(300), locality), "locality": locality, "region_code": region, "country_code": "XX"});
        for (m, p) in members.iter().enumerate() {
            let age = REF_YEAR - p.birth_year;
            if want("crvs") {
                let mut rec = json!({
                    "@type": "Person",
                    "identifier": [ident("UIN", &p.uin), ident("BRN", &format!("BRN-{}-{:07}", p.birth_year, i + m + 1))],
                    "name": {"@type": "Name", "given_name": p.given, "surname": p.surname},
                    "sex": p.sex,
                    "birth_date": p.birth_date,
                    "birth_place": {"name": format!("{} District Hospital", locality)},
                    "address": address,
                    "marital_status": if m < 2 && size > 1 { "married" } else { "single" },
                    "registration_date": format!("{}T09:00:00Z", p.birth_date),
                });
                if m >= 2 {
                    rec["parent1_identifier"] = ident("UIN", &members[0].uin);
                    if size > 1 {
                        rec["parent2_identifier"] = ident("UIN", &members[1].uin);
                    }
                }
                if let Some(d) = &p.death_date {
                    rec["death_date"] = json!(d);
                    rec["death_place"] = json!({"name": format!("{} District Hospital", locality)});
                }
                batch.push(NewRecord {
                    registry: "crvs".into(),
                    record_type: "Person".into(),
                    key: format!("UIN:{}", p.uin),
                    data: rec,
                });
            }
            if want("social") {
                let rec = json!({
                    "@type": "Member",
                    "member_identifier": [ident("UIN", &p.uin)],
                    "demographic_info": {
                        "identifier": [ident("UIN", &p.uin)],
                        "name": {"@type": "Name", "given_name": p.given, "surname": p.surname},
                        "sex": p.sex,
                        "birth_date": p.birth_date,
                    },
                    "age": age,
                    "group_identifier": hhid,
                    "relationship": match m { 0 => "head", 1 => "spouse", _ => "child" },
                    "is_disabled": p.disabled,
                    "location": p.region,
                    "registration_date": "2023-01-15T10:30:00Z",
                });
                batch.push(NewRecord {
                    registry: "social".into(),
                    record_type: "Member".into(),
                    key: format!("UIN:{}", p.uin),
                    data: rec,
                });
            }
            if want("dr") && p.disabled {
                let mut scores = serde_json::Map::new();
                let mut info = Vec::new();
                let worst = rng.below(6) as usize;
                for (d, code) in WG.iter().enumerate() {
                    let s = if d == worst {
                        3 + rng.below(2)
                    } else {
                        1 + rng.below(2)
                    };
                    scores.insert((*code).into(), json!(s));
                    if s >= 3 {
                        info.push(
                            // Spec `DisabilityInfo`: `disability_limitation_type` + `functional_severity`.
                            json!({"disability_limitation_type": *code, "functional_severity": s}),
                        );
                    }
                }
                let level = if info.iter().any(|x| x["functional_severity"] == 4) {
                    "Severe"
                } else {
                    "Moderate"
                };
                let rec = json!({
                    "@type": "DisabledPerson",
                    "identifier": [ident("UIN", &p.uin), ident("DID", &format!("DID-{:07}", i + m + 1))],
                    "name": {"@type": "Name", "given_name": p.given, "surname": p.surname},
                    "sex": p.sex,
                    "birth_date": p.birth_date,
                    "disability_status": "Approved",
                    "disability_level": level,
                    "washington_group": Value::Object(scores),
                    "disability_info": info,
                    "disability_support": [{"human_assistance": {"frequency": "Permanent", "type": WG_DOMAIN[worst], "support_status": "Required"}}],
                    "registration_date": "2022-06-01T08:00:00Z",
                });
                batch.push(NewRecord {
                    registry: "dr".into(),
                    record_type: "DisabledPerson".into(),
                    key: format!("UIN:{}", p.uin),
                    data: rec,
                });
            }
            if want("fr") && age >= 18 && rng.chance(30) {
                let crops: Vec<&str> = (0..1 + rng.below(3)).map(|_| rng.pick(CROPS)).collect();
                let rec = json!({
                    "@type": "Farmer",
                    "farmer_identifier": [ident("FID", &format!("FID-{:07}", i + m + 1))],
                    "identifier": [ident("UIN", &p.uin)],
                    "name": {"@type": "Name", "given_name": p.given, "surname": p.surname},
                    "sex": p.sex,
                    "birth_date": p.birth_date,
                    "farm": {"land_size_ha": (1 + rng.below(200)) as f64 / 10.0, "crops": crops, "livestock_count": rng.below(30), "location": p.region},
                    "registration_date": "2023-03-01T08:00:00Z",
                });
                batch.push(NewRecord {
                    registry: "fr".into(),
                    record_type: "Farmer".into(),
                    key: format!("UIN:{}", p.uin),
                    data: rec,
                });
            }
        }
        // Poverty score 0.0 - 9.9; households in need are enrolled in a programme.
        let poverty = rng.below(100) as f64 / 10.0;
        if want("social") {
            let list: Vec<Value> = members
                .iter()
                .enumerate()
                .map(|(m, p)| json!({
                    "member_identifier": [ident("UIN", &p.uin)],
                    "demographic_info": {"name": {"given_name": p.given, "surname": p.surname}, "sex": p.sex, "birth_date": p.birth_date},
                    "relationship": match m { 0 => "head", 1 => "spouse", _ => "child" },
                }))
                .collect();
            let rec = json!({
                "@type": "Group",
                "group_identifier": [ident("HHID", &hhid)],
                "group_type": "Household",
                "group_size": size,
                "poverty_score": poverty,
                "location": region,
                "group_head_info": {"member_identifier": [ident("UIN", &members[0].uin)], "name": {"given_name": members[0].given, "surname": members[0].surname}},
                "member_list": list,
                "registration_date": "2023-01-15T10:30:00Z",
            });
            batch.push(NewRecord {
                registry: "social".into(),
                record_type: "Group".into(),
                key: format!("HHID:{hhid}"),
                data: rec,
            });
        }
        if want("ibr") && (poverty < 4.0 || members.iter().any(|p| p.disabled)) {
            let head = &members[0];
            let (pid, pname) = if members.iter().any(|p| p.disabled) {
                PROGRAMMES[3]
            } else {
                PROGRAMMES[hh % 3]
            };
            let rec = json!({
                "@type": "Beneficiary",
                "beneficiary_identifier": [ident("BID", &format!("BID-{:07}", hh + 1))],
                "person_identifier": ident("UIN", &head.uin),
                "group_identifier": hhid,
                "programme": {"programme_identifier": pid, "programme_name": pname},
                "enrollment_date": date(REF_YEAR - 1 - rng.below(3) as i64, &mut rng),
                "enrollment_status": if rng.chance(90) { "active" } else { "suspended" },
                "benefit": {"type": "cash", "amount": 20 + rng.below(80), "currency": "USD", "frequency": "monthly"},
            });
            batch.push(NewRecord {
                registry: "ibr".into(),
                record_type: "Beneficiary".into(),
                key: format!("BID:BID-{:07}", hh + 1),
                data: rec,
            });
        }
        i += size;
        hh += 1;
        done_persons += size;
        if batch.len() >= 5000 {
            sink(std::mem::take(&mut batch), done_persons);
            done_persons = 0;
        }
    }
    if !batch.is_empty() || done_persons > 0 {
        sink(batch, done_persons);
    }
}

/// What `--demo` prints.
pub struct DemoInfo {
    pub client_id: String,
    pub client_secret: String,
    pub sender_id: String,
    pub sender_key: PathBuf,
    pub counts: Vec<(String, i64)>,
}

pub const DEMO_PERSONS: usize = 3000;
pub const DEMO_CLIENT: &str = "demo-client";
pub const DEMO_SENDER: &str = "demo-sender";

/// The banner's unsigned example search as the text of one shell argument in single quotes:
/// the message id and the timestamps are `$(date ...)` substitutions, filled in when it runs.
fn example_search(sender_id: &str, uin: &str) -> String {
    const ID: &str = "demo-message-id";
    const TS: &str = "2000-01-01T00:00:00Z";
    let env = SearchRequestBuilder::new()
        .transaction_id("t-1")
        .query_wire(IdTypeValue::new("UIN", uin).to_wire())
        .build()
        .and_then(|mut m| {
            for it in &mut m.search_request {
                it.reference_id = "r-1".into();
                it.timestamp = TS.into();
            }
            EnvelopeBuilder::new(dci::model::Action::Search.as_str())
                .message_id(ID)
                .message_ts(TS)
                .sender_id(sender_id)
                .build(m)
        })
        .map(|mut env| {
            env.signature = Some(String::new());
            env
        });
    let text = env
        .and_then(|e| serde_json::to_string(&e).map_err(dci::Error::from))
        .unwrap_or_default();
    text.replace(ID, "'$(date +%s%N)'")
        .replace(TS, "'$(date -u +%Y-%m-%dT%H:%M:%SZ)'")
}

/// The demo sender with these keys: every operation, registry and field; signature optional.
pub fn demo_sender(jwks: Value) -> Sender {
    Sender {
        sender_id: DEMO_SENDER.into(),
        name: "Demo sender (signature optional)".into(),
        jwks,
        jwks_url: None,
        allowed_ops: vec!["*".into()],
        registries: vec!["*".into()],
        fields: vec!["*".into()],
        consent_required: false,
        signature_policy: SignaturePolicy::Optional,
        active: true,
        callback_uri: None,
    }
}

/// Seeds the demo dataset on an empty database, registers the demo sender (its private key
/// written beside the database) and gives the demo client a fresh secret.
pub fn prepare(store: &dyn Store, config: &ServeConfig) -> Result<DemoInfo, String> {
    if store.count_records(None).map_err(|e| e.to_string())? == 0 {
        let mut err = None;
        generate(DEMO_PERSONS, REGISTRIES, |batch, _| {
            if err.is_none() {
                if let Err(e) = store.upsert_records(&batch) {
                    err = Some(e.to_string());
                }
            }
        });
        if let Some(e) = err {
            return Err(format!("seeding the demo dataset: {e}"));
        }
    }
    // Beside the SQLite file; for a PostgreSQL database, in the working directory, named after
    // the database.
    let db = config.db.display().to_string();
    let key_path = if crate::store::postgres::is_postgres_url(&db) {
        let name = db.rsplit('/').next().unwrap_or("postgres");
        let name = name.split('?').next().unwrap_or(name);
        PathBuf::from(format!("{name}.demo-sender.pem"))
    } else {
        PathBuf::from(format!("{db}.demo-sender.pem"))
    };
    let key = match std::fs::read_to_string(&key_path) {
        Ok(pem) => dci::keys::SigningKey::from_pem(&pem)
            .map_err(|e| format!("{}: {e}", key_path.display()))?,
        Err(_) => {
            let k = dci::keys::SigningKey::generate(dci::keys::Algorithm::Ed25519)
                .map_err(|e| e.to_string())?;
            let pem = k.to_pem().map_err(|e| e.to_string())?;
            std::fs::write(&key_path, pem.as_bytes())
                .map_err(|e| format!("writing {}: {e}", key_path.display()))?;
            k
        }
    };
    let jwks = json!({"keys": [key.verifying_key().to_jwk(Some("demo-key-1"))]});
    store
        .put_sender(&demo_sender(jwks))
        .map_err(|e| e.to_string())?;
    let secret = new_secret();
    store
        .put_client(&Client {
            client_id: DEMO_CLIENT.into(),
            name: "Demo client".into(),
            secret_hash: hash_secret(&secret),
            scopes: vec!["registry".into(), "admin".into()],
            sender_id: None,
            active: true,
        })
        .map_err(|e| e.to_string())?;
    let counts = REGISTRIES
        .iter()
        .map(|r| {
            Ok((
                r.to_string(),
                store.count_records(Some(r)).map_err(|e| e.to_string())?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(DemoInfo {
        client_id: DEMO_CLIENT.into(),
        client_secret: secret,
        sender_id: DEMO_SENDER.into(),
        sender_key: key_path,
        counts,
    })
}

/// Prints how to use the demo server.
pub fn print_banner(info: &DemoInfo, addr: &str) {
    print_stdout(&banner(info, addr));
}

/// Writes `text` to stdout in one write, ignoring a closed stdout: a reader that stops after
/// the line it wanted must not take the server down (`println!` panics on a broken pipe).
pub fn print_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The demo banner: what a client needs, and request lines that work.
fn banner(info: &DemoInfo, addr: &str) -> String {
    use std::fmt::Write;
    let mut b = String::new();
    let counts: Vec<String> = info
        .counts
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    let _ = writeln!(b, "dci registry server (demo) listening on http://{addr}");
    let _ = writeln!(b, "  records:       {}", counts.join(", "));
    let _ = writeln!(b, "  client_id:     {}", info.client_id);
    let _ = writeln!(b, "  client_secret: {}", info.client_secret);
    // The URL alone on its line: scripts and tests read it from the banner.
    let _ = writeln!(b, "  JWKS:          http://{addr}/.well-known/jwks.json");
    let _ = writeln!(
        b,
        "  encryption:    keys server-enc-rsa and server-enc-x25519 (use enc) in the JWKS"
    );
    let _ = writeln!(
        b,
        "  sender_id:     {} (signing key {}; unsigned requests accepted for this sender)",
        info.sender_id,
        info.sender_key.display()
    );
    let _ = writeln!(
        b,
        "  callbacks:     loopback and private addresses allowed (--demo implies --allow-private-callbacks)"
    );
    let _ = writeln!(
        b,
        "  strict mode:   each answer lists what the request did off-spec in its X-DCI-Deviations header (--demo implies --strict)"
    );
    let _ = writeln!(
        b,
        "  inspector:     http://{addr}/inspector (every request, its violations and callbacks, live; open to loopback clients)"
    );
    b.push('\n');
    let _ = writeln!(b, "Try (bash):");
    let _ = writeln!(
        b,
        "  TOKEN=$(curl -s http://{addr}/oauth2/client/token -d grant_type=client_credentials -d client_id={} -d client_secret={} | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')",
        info.client_id, info.client_secret
    );
    let _ = writeln!(
        b,
        "  curl -s http://{addr}/registry/sync/search -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{}'",
        example_search(&info.sender_id, &uin(1))
    );
    let _ = writeln!(b, "Signed, with the demo sender's key:");
    let _ = writeln!(
        b,
        "  dci envelope search --idtype UIN --value {} --sender-id {} | dci sign --key {} --key-id demo-key-1 | curl -s http://{addr}/registry/sync/search -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' --data-binary @-",
        uin(2),
        info.sender_id,
        info.sender_key.display()
    );
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_search_is_a_valid_envelope_once_the_shell_fills_it_in() {
        let text = example_search("demo-sender", "100000001")
            .replace("'$(date +%s%N)'", "1733000000000000000")
            .replace("'$(date -u +%Y-%m-%dT%H:%M:%SZ)'", "2025-01-01T00:00:00Z");
        let env: Value = serde_json::from_str(&text).unwrap();
        dci::model::validate_value("search", &env).unwrap();
        assert_eq!(env["header"]["message_id"], "1733000000000000000");
        assert_eq!(env["header"]["sender_id"], "demo-sender");
        let q = &env["message"]["search_request"][0]["search_criteria"]["query"];
        assert_eq!(q, &json!({"type": "UIN", "value": "100000001"}));
    }

    #[test]
    fn dataset_is_deterministic_and_covers_registries() {
        let mut a = Vec::new();
        generate(200, REGISTRIES, |b, _| a.extend(b));
        let mut b = Vec::new();
        generate(200, REGISTRIES, |x, _| b.extend(x));
        assert_eq!(a.len(), b.len());
        assert!(a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.data == y.data && x.key == y.key));
        for r in REGISTRIES {
            assert!(a.iter().any(|x| x.registry == *r), "no {r} records");
        }
        assert_eq!(a.iter().filter(|x| x.registry == "crvs").count(), 200);
        assert_eq!(a[0].data["identifier"][0]["identifier_value"], "TEST-001");
        let dr = a
            .iter()
            .find(|x| x.registry == "dr")
            .map(|x| &x.data["washington_group"])
            .cloned()
            .unwrap_or_default();
        for k in WG {
            let s = dr[*k].as_u64().unwrap_or(0);
            assert!((1..=4).contains(&s), "{k} = {s}");
        }
    }
}
