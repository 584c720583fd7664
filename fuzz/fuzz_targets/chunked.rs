//! Arbitrary bytes as the body of a chunked request, in arbitrary splits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tornado::http1::Config;

mod driver;

const HEAD: &[u8] = b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    let Some((&[selector, seed], body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let input = [HEAD, body].concat();
    for config in [Config::default(), driver::small_config(selector | 0x60)] {
        let whole = driver::run(&config, [&input[..]], false);
        let split = driver::run(
            &config,
            driver::pieces(&input, u32::from(seed) << 8 | 1),
            false,
        );
        assert_eq!(whole, split);
    }
});
