//! Feeds arbitrary text to the policy parser and, when it parses, to the resolver as an owner
//! layer below the parsed text as an admin layer. Neither may panic, hang or blow up memory;
//! a resolved owner layer must never be wider than its admin parent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paddock_policy::{parse_layer, resolve, Authority, Layer, LayerKind};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = parse_layer("fuzz.yaml", text) else {
        return;
    };
    // Rendering errors and warnings must not panic either.
    for w in &parsed.warnings {
        let _ = w.to_string();
    }
    let admin = Layer {
        kind: LayerKind::Role,
        authority: Authority::Admin,
        source: "fuzz.yaml".into(),
        doc: parsed.doc.clone(),
    };
    let owner = Layer {
        kind: LayerKind::Session,
        authority: Authority::Owner,
        source: "fuzz.yaml".into(),
        doc: parsed.doc,
    };
    match resolve(std::slice::from_ref(&admin)) {
        Ok(above) => {
            // Restating the parent is always a valid narrowing, and the result must not widen.
            let below =
                resolve(&[admin, owner]).unwrap_or_else(|e| panic!("restating failed: {e}"));
            assert!(below.widening_over(&above).is_none());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
