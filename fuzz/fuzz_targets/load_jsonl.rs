#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(
    init: common::production_panic_hook(),
    |data: &[u8]| common::load_bytes(data, "case.jsonl")
);
