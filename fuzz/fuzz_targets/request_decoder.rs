//! Arbitrary bytes, arbitrary splits: the request decoder must not panic, and
//! its events must not depend on the split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tornado::http1::Config;

mod driver;

fuzz_target!(|data: &[u8]| {
    let Some((&[selector, seed0, seed1, flags], input)) = data.split_first_chunk::<4>() else {
        return;
    };
    let seed = u32::from_le_bytes([seed0, seed1, selector, flags]);
    let eof = flags & 1 != 0;
    for config in [Config::default(), driver::small_config(selector)] {
        let whole = driver::run(&config, [input], eof);
        let split = driver::run(&config, driver::pieces(input, seed), eof);
        assert_eq!(whole, split);
    }
});
