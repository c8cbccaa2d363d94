//! Bad input gets an error, never a panic: random edits of valid documents and sheets, and
//! arbitrary bytes, through every reader.

use std::path::Path;

use proptest::prelude::*;

const DOC: &str = include_str!("../../profiles/tests/release.toml");

fn json_doc() -> String {
    let r = intake::parse_document(Path::new("r.toml"), DOC).expect("valid");
    serde_json::to_string_pretty(&r).expect("json")
}

/// Applies byte edits (position, new byte) to a text, keeping whatever UTF-8 survives.
fn mutate(text: &str, edits: &[(usize, u8)]) -> String {
    let mut b = text.as_bytes().to_vec();
    for &(pos, byte) in edits {
        if b.is_empty() {
            break;
        }
        let i = pos % b.len();
        match byte % 3 {
            0 => b[i] = byte,
            1 => {
                b.remove(i);
            }
            _ => b.insert(i, byte),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn edited_toml_documents_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let text = mutate(DOC, &edits);
        if let Err(diags) = intake::parse_document(Path::new("r.toml"), &text) {
            prop_assert!(!diags.is_empty(), "a rejection always says why");
            prop_assert!(diags.iter().all(|d| d.loc.is_some()), "every error in a document is located");
        }
    }

    #[test]
    fn edited_json_documents_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let text = mutate(&json_doc(), &edits);
        if let Err(diags) = intake::parse_document(Path::new("r.json"), &text) {
            prop_assert!(!diags.is_empty());
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = intake::parse_document(Path::new("r.json"), &text);
        let _ = intake::parse_document(Path::new("r.toml"), &text);
    }

    #[test]
    fn edited_sheets_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let sheet = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/release-sheet.csv")).expect("template");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.csv");
        std::fs::write(&path, mutate(&sheet, &edits)).expect("write");
        for result in intake::read(&path) {
            if let Err(r) = result {
                prop_assert!(!r.diagnostics.is_empty());
            }
        }
    }
}
