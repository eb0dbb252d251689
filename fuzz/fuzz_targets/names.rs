//! Fuzzes the names that reach file names: `SpoolName::from_bytes` (a directory entry anyone
//! with write access to a spool directory chose), `NodeName::parse` (Pacemaker's `plug`, a
//! request's `target_node`), `RequestId::parse`, and `SpoolName::for_request` built from them.
//!
//! Invariants: an accepted name only has the characters and lengths of the protocol
//! (`docs/DESIGN.md`), so it cannot leave its directory, hide as a dot-file or smuggle an
//! option; the names derived from it (temporary, cancelling) stay dot-files in the same
//! directory; and a request file name built from an accepted id and node is itself accepted.

#![no_main]

use gfs2_fence_protocol::{FileNaming, NodeName, RequestId, SpoolName};
use libfuzzer_sys::fuzz_target;

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

fuzz_target!(|data: &[u8]| {
    if let Ok(name) = SpoolName::from_bytes(data) {
        let s = name.as_str();
        assert_eq!(s.as_bytes(), data);
        assert!(s.len() >= 6 && s.len() <= 250, "length {}", s.len());
        assert!(s.ends_with(".json") && !s.starts_with('.'));
        assert!(s.chars().all(allowed), "{s:?}");
        for derived in [name.temporary(), name.cancelling()] {
            assert!(
                derived.starts_with('.') && !derived.ends_with(".json"),
                "{derived:?}"
            );
            assert!(derived.len() <= 255, "{derived:?} exceeds NAME_MAX");
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let node = NodeName::parse(text);
    if let Ok(n) = &node {
        let s = n.as_str();
        assert!(!s.is_empty() && s.len() <= 253);
        assert!(s.chars().all(allowed) && s.as_bytes()[0].is_ascii_alphanumeric());
        assert!(!s.contains(".."), "{s:?}");
        assert!(!s.starts_with('-'), "{s:?} reads as an option");
    } else if let Err(e) = &node {
        let msg = e.to_string();
        assert!(
            !msg.chars().any(char::is_control),
            "raw control character in {msg:?}"
        );
    }
    // Split the input in two: a request id and a node, to combine them into a file name.
    let (id_text, node_text) = text.split_once('/').unwrap_or((text, "cn1"));
    if let (Ok(id), Ok(node)) = (RequestId::parse(id_text), NodeName::parse(node_text)) {
        for naming in [FileNaming::Seed, FileNaming::Nnf] {
            let name = SpoolName::for_request(&id, &node, naming);
            assert_eq!(
                SpoolName::parse(name.as_str()).as_ref(),
                Ok(&name),
                "for_request({id}, {node}, {naming:?}) made a name the protocol refuses"
            );
        }
    }
});
