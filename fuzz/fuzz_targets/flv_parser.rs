//! `cargo +nightly fuzz run flv_parser`: random bytes, fed in random chunk sizes, through the
//! FLV parser and the AMF0 decoder. Any panic or runaway allocation is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use liverec::media::flv::{Item, Parser, amf0};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1) * 7;
    let mut p = Parser::new(1 << 20);
    for c in rest.chunks(chunk) {
        p.push(c);
        while let Some(item) = p.next_item() {
            if let Item::Tag(t) = item {
                let _ = amf0::decode(&t.body);
            }
        }
        assert!(p.pending() <= (1 << 20) + 15 + chunk);
    }
    let _ = p.finish();
});
