use super::*;

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
}

#[test]
fn bad_durations_suggest_a_fix() {
    assert_eq!(
        parse_duration("1hour").unwrap_err(),
        r#""1hour" is not a duration (try "1h")"#
    );
    assert!(
        parse_duration("90 minutes")
            .unwrap_err()
            .contains(r#"try "90m""#)
    );
    assert!(parse_duration("30").unwrap_err().contains(r#"try "30s""#));
    assert!(parse_duration("").is_err());
    assert!(parse_duration("-5s").is_err());
    assert!(parse_duration("1.5h").is_err());
    assert!(parse_duration("99999999999999h").is_err());
}

#[test]
fn sizes_parse() {
    assert_eq!(parse_size("512MiB"), Ok(512 << 20));
    assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
    assert_eq!(parse_size("4 GiB"), Ok(4 << 30));
    assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
    assert_eq!(parse_size("0B"), Ok(0));
    assert!(parse_size("4 gigs").unwrap_err().contains(r#"try "4GiB""#));
    assert!(parse_size("GiB").is_err());
    assert!(parse_size("1e30GiB").is_err());
}

#[test]
fn formatting_round_trips() {
    for text in ["1h2m5s", "30s", "1d", "500ms", "0s"] {
        assert_eq!(format_duration(parse_duration(text).unwrap()), text);
    }
    assert_eq!(format_size(4 << 30), "4GiB");
    assert_eq!(format_size(1_500_000), "1.4MiB");
    assert_eq!(format_size(17), "17B");
}
