#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| enrollkit_fuzz::roster(data));
