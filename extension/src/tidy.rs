//! The invariant this crate exists for, checked: the framework crates (orchestrator, worker,
//! web, launcher-k8s, this crate and the orch library in `cli/src`, but not the stock binary
//! `cli/src/bin/`) hold nothing of the seed pipelines. Their code (comments and `tests.rs` files
//! aside) never names
//! the `pipelines` crate or the seeds' settings and object layout, and their manifests do not
//! depend on it.

use std::path::{Path, PathBuf};

const FRAMEWORK: [&str; 6] = [
    "orchestrator",
    "worker",
    "web",
    "launcher-k8s",
    "extension",
    "cli",
];

/// Words only the seeds' code has any reason to contain.
const SEED_WORDS: [&str; 6] = [
    "pipelines::",
    "PRODUCT_API_URL",
    "S3_BUCKET_NAME",
    "OPENWEATHER_API",
    "WEATHER_RESULTS_BUCKET",
    "weather-products/",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // The stock binary is the one place that joins the library and the seeds.
            if !path.ends_with("cli/src/bin") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn framework_crates_know_nothing_of_the_seed_pipelines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in FRAMEWORK {
        rust_files(&root.join(krate).join("src"), &mut files);
    }
    assert!(files.len() > 50, "the walk found the sources: {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            // Unit-test files may use the seeds' names as example values (an env var passed
            // through, a job name); this file names the words it looks for.
            if code.starts_with("//") || file.ends_with("tests.rs") || file.ends_with("tidy.rs") {
                continue;
            }
            for word in SEED_WORDS.iter().filter(|w| code.contains(*w)) {
                found.push(format!("{}:{}: {word}", file.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "seed-specific code in the framework:\n{}",
        found.join("\n")
    );
    for krate in ["orchestrator", "worker", "web", "launcher-k8s", "extension"] {
        let manifest = std::fs::read_to_string(root.join(krate).join("Cargo.toml"))
            .expect("a readable manifest");
        assert!(
            !manifest
                .lines()
                .any(|l| l.trim_start().starts_with("pipelines")),
            "{krate} depends on pipelines"
        );
    }
}
