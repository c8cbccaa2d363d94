//! The committed schemas stay in step with the model and with intake:
//! - `schemas/release.schema.json` is exactly what the model generates today;
//! - every object in it accepts exactly the keys intake accepts (intake refuses unknown keys,
//!   so a field added to the model but not to intake, or the reverse, fails here);
//! - the sheet template's columns are exactly the columns intake knows.
//!
//! After changing the model: `cargo run -p liner -- schema > schemas/release.schema.json`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn generated_schema() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_liner"))
        .arg("schema")
        .output()
        .expect("run liner schema");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn committed_release_schema_is_current() {
    let committed = std::fs::read_to_string(repo().join("schemas/release.schema.json"))
        .expect("schemas/release.schema.json");
    assert_eq!(
        committed.trim_end(),
        generated_schema().trim_end(),
        "schemas/release.schema.json is stale: run `cargo run -p liner -- schema > schemas/release.schema.json`"
    );
}

#[test]
fn schema_objects_accept_exactly_the_keys_intake_accepts() {
    let schema: serde_json::Value = serde_json::from_str(&generated_schema()).expect("json");
    for (name, keys) in intake::accepted_keys() {
        let def = if name == "Release" {
            &schema
        } else {
            &schema["$defs"][name]
        };
        // Artwork's schema is "a path, or an object": check the object branch.
        let object = def["anyOf"]
            .as_array()
            .and_then(|v| v.iter().find(|b| b["type"] == "object"))
            .unwrap_or(def);
        let props: BTreeSet<&str> = object["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} has no properties in the schema"))
            .keys()
            .map(String::as_str)
            .collect();
        let accepted: BTreeSet<&str> = keys.iter().copied().collect();
        assert_eq!(props, accepted, "schema vs intake keys for {name}");
        assert_eq!(
            object["additionalProperties"], false,
            "{name} must refuse unknown keys like intake does"
        );
    }
}

#[test]
fn sheet_template_has_exactly_the_known_columns() {
    let template =
        std::fs::read_to_string(repo().join("schemas/release-sheet.csv")).expect("template");
    let header: BTreeSet<&str> = template
        .lines()
        .next()
        .expect("header")
        .split(',')
        .collect();
    let known: BTreeSet<&str> = intake::RELEASE_COLUMNS
        .iter()
        .chain(intake::TRACK_COLUMNS)
        .copied()
        .collect();
    assert_eq!(header, known);
}

#[test]
fn qc_report_schema_file_is_current() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_liner"))
        .args(["schema", "--of", "qc-report"])
        .output()
        .expect("run liner");
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).expect("utf-8");
    let committed =
        std::fs::read_to_string(repo().join("schemas/qc-report.schema.json")).expect("schema file");
    assert_eq!(
        generated.trim_end(),
        committed.trim_end(),
        "schemas/qc-report.schema.json is stale: run `cargo run -p liner -- schema --of qc-report > schemas/qc-report.schema.json`"
    );
}

#[test]
fn docs_list_every_qc_rule() {
    let doc = std::fs::read_to_string(repo().join("docs/qc.md")).expect("docs/qc.md");
    let missing: Vec<&str> = qc::all_rules()
        .map(|r| r.id)
        .filter(|id| !doc.contains(&format!("| `{id}` |")))
        .collect();
    assert!(missing.is_empty(), "docs/qc.md lacks rules {missing:?}");
}
