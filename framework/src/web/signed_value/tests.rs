//! Tornado's `SignedValueTest` (tornado/test/web_test.py), ported, plus
//! values Tornado 6.6.1 produced for cases it does not test.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

const SECRET: &str = "It's a secret to everybody";
const SIGNATURE: &str = "3d4e60b996ff9c5d5788e333a0cba6f238a22c6c0f94788870e1a9ecd482e152";
const KNOWN_V2_PREFIX: &str = "2|1:0|10:1300000000|3:key|8:dmFsdWU=|";

fn secret() -> CookieSecret {
    SECRET.into()
}

fn secret_dict() -> CookieSecret {
    CookieSecret::from([(0, "asdfbasdf"), (1, "12312312"), (2, "2342342")])
}

fn present() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_300_000_000)
}

fn past() -> SystemTime {
    present() - Duration::from_secs(86_400 * 32)
}

fn sign(secret: &CookieSecret, name: &str, value: &[u8], version: Option<u8>) -> String {
    create_signed_value(secret, name, value, version, present(), None).unwrap()
}

fn decode(secret: &CookieSecret, name: &str, signed: &str, now: SystemTime) -> Option<Vec<u8>> {
    decode_signed_value(secret, name, signed, 31.0, now, None).unwrap()
}

#[test]
fn known_values() {
    let v1 = sign(&secret(), "key", b"value", Some(1));
    assert_eq!(
        v1,
        "dmFsdWU=|1300000000|31c934969f53e48164c50768b40cbd7e2daaaa4f"
    );
    let v2 = sign(&secret(), "key", b"value", Some(2));
    assert_eq!(v2, format!("{KNOWN_V2_PREFIX}{SIGNATURE}"));
    assert_eq!(sign(&secret(), "key", b"value", None), v2);
    let decoded_v1 = decode_signed_value(&secret(), "key", &v1, 31.0, present(), Some(1));
    assert_eq!(decoded_v1.unwrap().as_deref(), Some(&b"value"[..]));
    let decoded_v2 = decode_signed_value(&secret(), "key", &v2, 31.0, present(), Some(2));
    assert_eq!(decoded_v2.unwrap().as_deref(), Some(&b"value"[..]));
}

#[test]
fn values_tornado_produced() {
    // From Tornado 6.6.1's create_signed_value with the same arguments.
    let keyed = create_signed_value(&secret_dict(), "key", b"\xe9", None, present(), Some(1));
    assert_eq!(
        keyed.unwrap(),
        "2|1:1|10:1300000000|3:key|4:6Q==|75fed969da3a9a9d3f1a48f2e97dbc8a875c97fec091ae0b07c176494da223fc"
    );
    // A name's length counts characters, as Python's len() of a str.
    assert_eq!(
        sign(&secret(), "n\u{e9}", b"v", None),
        "2|1:0|10:1300000000|2:n\u{e9}|4:dg==|ef10b97ed9d51722b1def6488be9ca3abda3d68abccbbb0a3ba0003c070bf6b5"
    );
    assert_eq!(
        sign(&secret(), "key", b"", Some(1)),
        "|1300000000|deaa22682dbfb132eff510f9d95445a77cadc28a"
    );
    // Before the epoch, seconds are truncated toward zero, as int(-5.5).
    let early = UNIX_EPOCH - Duration::from_millis(5_500);
    assert_eq!(
        create_signed_value(&secret(), "key", "x", Some(1), early, None).unwrap(),
        "eA==|-5|e48e2926bd2640fb530aeff1874b0c694390d75a"
    );
}

#[test]
fn name_swap() {
    let signed1 = sign(&secret(), "key1", b"value", None);
    let signed2 = sign(&secret(), "key2", b"value", None);
    assert_eq!(decode(&secret(), "key2", &signed1, present()), None);
    assert_eq!(decode(&secret(), "key1", &signed2, present()), None);
}

#[test]
fn expired() {
    for version in [1, 2] {
        let signed =
            create_signed_value(&secret(), "key1", "value", Some(version), past(), None).unwrap();
        assert_eq!(
            decode(&secret(), "key1", &signed, past()).as_deref(),
            Some(&b"value"[..])
        );
        assert_eq!(decode(&secret(), "key1", &signed, present()), None);
        // A shorter max_age_days than the default expires it sooner.
        let day_later = past() + Duration::from_secs(86_400 + 1);
        let short = decode_signed_value(&secret(), "key1", &signed, 1.0, day_later, None);
        assert_eq!(short.unwrap(), None);
    }
}

#[test]
fn payload_tampering() {
    let validate = |prefix: &str| {
        decode(&secret(), "key", &format!("{prefix}{SIGNATURE}"), present()).as_deref()
            == Some(&b"value"[..])
    };
    assert!(validate(KNOWN_V2_PREFIX));
    assert!(!validate("2|1:1|10:1300000000|3:key|8:dmFsdWU=|"));
    assert!(!validate("2|1:0|10:130000000|3:key|8:dmFsdWU=|"));
    assert!(!validate("2|1:0|10:1300000000|3:keey|8:dmFsdWU=|"));
}

#[test]
fn signature_tampering() {
    let validate = |signature: &str| {
        decode(
            &secret(),
            "key",
            &format!("{KNOWN_V2_PREFIX}{signature}"),
            present(),
        )
        .as_deref()
            == Some(&b"value"[..])
    };
    assert!(validate(SIGNATURE));
    assert!(!validate(&"0".repeat(32)));
    assert!(!validate(
        "4d4e60b996ff9c5d5788e333a0cba6f238a22c6c0f94788870e1a9ecd482e152"
    ));
    assert!(!validate(
        "3d4e60b996ff9c5d5788e333a0cba6f238a22c6c0f94788870e1a9ecd482e153"
    ));
    assert!(!validate(&SIGNATURE[..SIGNATURE.len() - 1]));
    assert!(!validate(&format!("{SIGNATURE}8")));
    assert!(!validate(""));
    // Python's compare_digest compares the hex text: upper case is not it.
    assert!(!validate(&SIGNATURE.to_ascii_uppercase()));
}

#[test]
fn v1_tampering_checks() {
    let good = sign(&secret(), "key", b"value", Some(1));
    assert!(decode(&secret(), "key", &good, present()).is_some());
    assert_eq!(
        decode(&secret(), "key", &format!("{good}|extra"), present()),
        None
    );
    assert_eq!(
        decode(&secret(), "key", &good.replace("1300", "1301"), present()),
        None
    );
    // Digits moved from the payload into the timestamp keep the signature:
    // a timestamp far in the future, or with a leading zero, is refused.
    let key = "s";
    let forge = |payload: &str, timestamp: &str| {
        let signature = signature_v1(key.as_bytes(), &["a", payload, timestamp]);
        format!("{payload}|{timestamp}|{signature}")
    };
    let future = forge("dg==", "9999999999");
    assert_eq!(decode(&key.into(), "a", &future, present()), None);
    let zero = forge("dg==", "01300000000");
    assert_eq!(decode(&key.into(), "a", &zero, present()), None);
    let fine = forge("dg==", "1300000000");
    assert_eq!(
        decode(&key.into(), "a", &fine, present()).as_deref(),
        Some(&b"v"[..])
    );
}

#[test]
fn non_ascii_and_binary_values_round_trip() {
    for value in [&b"\xe9"[..], b"\x00\xff|:\n", &[7u8; 1000]] {
        let signed = sign(&secret(), "key", value, None);
        assert_eq!(
            decode(&secret(), "key", &signed, present()).as_deref(),
            Some(value)
        );
    }
}

#[test]
fn key_versioning() {
    for key_version in [0, 1] {
        let signed = create_signed_value(
            &secret_dict(),
            "key",
            b"\xe9",
            None,
            present(),
            Some(key_version),
        )
        .unwrap();
        assert_eq!(
            decode(&secret_dict(), "key", &signed, present()).as_deref(),
            Some(&b"\xe9"[..])
        );
        assert_eq!(get_signature_key_version(&signed), Some(key_version));
    }
    let signed = create_signed_value(&secret_dict(), "key", b"\xe9", None, present(), Some(0));
    let without_0 = CookieSecret::from([(1, "12312312"), (2, "2342342")]);
    assert_eq!(decode(&without_0, "key", &signed.unwrap(), present()), None);
}

#[test]
fn versioned_secrets_refuse_what_tornado_refuses() {
    let dict = secret_dict();
    assert!(create_signed_value(&dict, "key", "v", None, present(), None).is_err());
    assert!(create_signed_value(&dict, "key", "v", None, present(), Some(9)).is_err());
    assert!(create_signed_value(&dict, "key", "v", Some(1), present(), Some(0)).is_err());
    assert!(create_signed_value(&secret(), "key", "v", Some(3), present(), None).is_err());
    // A version 1 value against a versioned secret: None (Tornado asserts).
    let v1 = sign(&secret(), "key", b"value", Some(1));
    assert_eq!(decode(&dict, "key", &v1, present()), None);
}

#[test]
fn key_version_of_other_values() {
    assert_eq!(
        get_signature_key_version(format!("{KNOWN_V2_PREFIX}{SIGNATURE}")),
        Some(0)
    );
    assert_eq!(
        get_signature_key_version(sign(&secret(), "key", b"v", Some(1))),
        None
    );
    assert_eq!(get_signature_key_version("2|junk"), None);
    assert_eq!(get_signature_key_version(""), None);
}

#[test]
fn malformed_timestamps_are_none() {
    let key = "s";
    let signature = signature_v1(key.as_bytes(), &["a", "dg==", "not-a-number"]);
    let v1 = format!("dg==|not-a-number|{signature}");
    let at = UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    assert_eq!(decode(&key.into(), "a", &v1, at), None);
    let prefix = "2|1:0|1:a|1:a|0:|";
    let v2 = format!(
        "{prefix}{}",
        signature_v2(key.as_bytes(), prefix.as_bytes())
    );
    assert_eq!(decode(&key.into(), "a", &v2, at), None);
}

#[test]
fn min_version() {
    let v1 = sign(&secret(), "key", b"value", Some(1));
    let v2 = sign(&secret(), "key", b"value", Some(2));
    let with_min = |signed: &str, min| {
        decode_signed_value(&secret(), "key", signed, 31.0, present(), Some(min)).unwrap()
    };
    assert_eq!(with_min(&v1, 2), None);
    assert!(with_min(&v2, 2).is_some());
    assert!(decode_signed_value(&secret(), "key", &v2, 31.0, present(), Some(3)).is_err());
}

#[test]
fn versions_are_read_as_tornado_reads_them() {
    assert_eq!(version_of(b"2|x"), 2);
    assert_eq!(version_of(b"999|x"), 999);
    // Past 999, the digits are a version 1 payload's base64.
    assert_eq!(version_of(b"1000|x"), 1);
    assert_eq!(version_of(b"02|x"), 1);
    assert_eq!(version_of(b"2x|"), 1);
    assert_eq!(version_of(b"dmFs|1|sig"), 1);
    assert_eq!(version_of(b"2|a\nb"), 1);
    assert_eq!(version_of(b"2|ab\n"), 2);
    assert_eq!(version_of(b"99999999999999999999999|x"), 1);
}

#[test]
fn garbage_never_panics() {
    let inputs: [&[u8]; 12] = [
        b"",
        b"|",
        b"||",
        b"2|",
        b"2||||",
        b"2|1:",
        b"2|99999999999999999999:x|",
        b"2|1:0|1:1|1:k|1:=|",
        b"2|-1:0|",
        b"\xff\xfe|1|2",
        b"2|1:0|10:1300000000|3:key|8:dmFsdWU=|",
        b"x|-|y",
    ];
    for input in inputs {
        for secret in [secret(), secret_dict()] {
            let _ = decode_signed_value(&secret, "key", input, 31.0, present(), None).unwrap();
        }
        let _ = get_signature_key_version(input);
    }
}

#[test]
fn secrets_are_not_printed() {
    assert!(!format!("{:?}", secret()).contains("secret to everybody"));
    assert!(!format!("{:?}", secret_dict()).contains("asdf"));
}

#[test]
fn secrets_may_be_any_bytes() {
    // From Tornado 6.6.1, with bytes secrets.
    let key = CookieSecret::from(&b"\x8f\x00\xff secret"[..]);
    let signed = sign(&key, "key", b"value", None);
    assert_eq!(
        signed,
        "2|1:0|10:1300000000|3:key|8:dmFsdWU=|385ae428d02efa99256d890341e3a4f7d70848670ec1d2af18a6da7ddfd61db0"
    );
    assert_eq!(
        decode(&key, "key", &signed, present()).as_deref(),
        Some(&b"value"[..])
    );
    let versioned = CookieSecret::from([(3, &b"\xfe\xff"[..])]);
    let signed = create_signed_value(&versioned, "key", "value", None, present(), Some(3));
    assert_eq!(
        signed.unwrap(),
        "2|1:3|10:1300000000|3:key|8:dmFsdWU=|4e986393859daf78d91b4bf6d76f6fc31b6f115aea9f83225d977a6c4c4e2857"
    );
}
