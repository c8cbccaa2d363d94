//! Prints the analysis of each file given as JSON: `cargo run --release -p audio --example analyse -- FILE…`.
fn main() {
    for path in std::env::args_os().skip(1) {
        let report = audio::analyse(std::path::Path::new(&path));
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        // The plot arrays drown the measures on a terminal.
        if let Some(o) = v.as_object_mut() {
            o.remove("plot");
        }
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
}
