//! `zome-bindings/test-vectors/index.json`: written from `VECTORS` (with
//! `RIPPLE_UPDATE_VECTORS=1`) or compared with it; no stray `.msgpack` files. The vectors
//! themselves are checked per DNA by tests/agent_registry.rs, resource_mesh.rs and
//! artifact_index.rs (one binary each: see the crate docs).
use ripple_test_vectors::*;

fn msgpack_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(vectors_dir())
        .map(|entries| entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|f| f.ends_with(".msgpack")).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn listed(file: &str) -> bool {
    VECTORS.iter().any(|v| format!("{}.msgpack", v.name) == file)
}

#[test]
fn vector_names_are_unique_and_complete() {
    let mut names: Vec<&str> = VECTORS.iter().map(|v| v.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), VECTORS.len(), "vector names must be unique");
    for v in VECTORS {
        assert!([AGENT_REGISTRY, RESOURCE_MESH, ARTIFACT_INDEX].contains(&v.dna), "{}: unknown dna {}", v.name, v.dna);
        assert!(!v.schema.is_empty() && !v.description.is_empty(), "{}: schema and description needed", v.name);
    }
}

#[test]
fn index_json_matches_vectors() {
    let dir = vectors_dir();
    let index = index_json();
    if update_requested() {
        std::fs::create_dir_all(&dir).unwrap();
        for file in msgpack_files().into_iter().filter(|f| !listed(f)) {
            std::fs::remove_file(dir.join(&file)).unwrap();
            eprintln!("removed stale {file}");
        }
        std::fs::write(dir.join("index.json"), &index).unwrap();
        eprintln!("wrote index.json ({} vectors)", VECTORS.len());
        return;
    }
    let committed = std::fs::read_to_string(dir.join("index.json")).expect("zome-bindings/test-vectors/index.json");
    assert!(committed == index, "index.json differs from VECTORS: run `{UPDATE_ENV}=1 cargo test -p ripple_test_vectors`");
    let stray: Vec<String> = msgpack_files().into_iter().filter(|f| !listed(f)).collect();
    assert!(stray.is_empty(), "not vectors (any more): {stray:?}; `{UPDATE_ENV}=1 cargo test -p ripple_test_vectors` removes them");
    let missing: Vec<&str> = VECTORS.iter().map(|v| v.name).filter(|n| !msgpack_files().contains(&format!("{n}.msgpack"))).collect();
    assert!(missing.is_empty(), "missing vector files: {missing:?}");
}
