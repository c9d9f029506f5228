//! The settings file: the documented example parses, typos name their line, broken references
//! name their key path, and an export reads back unchanged.

mod common;
use common::EXAMPLE;
use routing::config::{QueueNoAnswer, QueueStrategy};
use routing::{ConfigError, RoutingConfig};

/// The complete example in `examples/ringbase.toml` parses and validates.
#[test]
fn example_settings_parse() {
    let config = RoutingConfig::from_toml(EXAMPLE).expect("example parses");
    assert_eq!(config.lines.len(), 3);
    assert_eq!(config.agents.len(), 6);
    let sales = config.queue("sales").unwrap();
    assert_eq!(sales.strategy, QueueStrategy::Evenly);
    assert_eq!(sales.ring_seconds(), 20);
    assert!(matches!(
        sales.no_answer,
        QueueNoAnswer::WaitInQueue {
            max_wait_seconds: Some(300),
            ..
        }
    ));
    assert_eq!(config.ivr_menu("support-main").unwrap().options.len(), 5);
}

/// A typo in a key is an error naming its line: `strategyy` on line N.
#[test]
fn unknown_key_names_the_line() {
    let typo = EXAMPLE.replacen("strategy = \"evenly\"", "strategyy = \"evenly\"", 1);
    let line = typo
        .lines()
        .position(|line| line.starts_with("strategyy"))
        .unwrap()
        + 1;
    let error = RoutingConfig::from_toml(&typo).unwrap_err();
    match &error {
        ConfigError::Parse {
            line: reported,
            key,
            message,
            ..
        } => {
            assert_eq!(*reported, line);
            assert_eq!(key.as_deref(), Some("queues"));
            assert!(message.contains("unknown field \"strategyy\""), "{message}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(
        error.to_string().starts_with(&format!(
            "line {line}, column 1: queues: unknown field \"strategyy\""
        )),
        "{error}"
    );
}

/// A wrong value (unknown strategy) names the line too.
#[test]
fn unknown_enum_value_names_the_line() {
    let text = EXAMPLE.replacen("strategy = \"in_order\"", "strategy = \"random\"", 1);
    let line = text
        .lines()
        .position(|line| line.contains("\"random\""))
        .unwrap()
        + 1;
    let error = RoutingConfig::from_toml(&text).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("line {line},")) && error.contains("random"),
        "{error}"
    );
}

/// A value of the wrong type names its line and its key path.
#[test]
fn wrong_type_names_the_line_and_the_key() {
    let text = EXAMPLE.replacen(
        "rings = 3                          # 15 s per member",
        "rings = \"three\"",
        1,
    );
    let line = text
        .lines()
        .position(|line| line == "rings = \"three\"")
        .unwrap()
        + 1;
    let error = RoutingConfig::from_toml(&text).unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "line {line}, column 9: queues.rings: invalid type: string \"three\", expected u32"
        )
    );
}

/// Inside an inline table the path names the outer and the inner key.
#[test]
fn inline_table_error_names_both_keys() {
    let text = EXAMPLE.replacen(
        "no_answer = { action = \"forward_to_member_mobile\" }",
        "no_answer = { action = \"forward_to_mobile\" }",
        1,
    );
    let error = RoutingConfig::from_toml(&text).unwrap_err().to_string();
    assert!(
        error.contains("queues.no_answer.action: unknown variant \"forward_to_mobile\""),
        "{error}"
    );
    let text = EXAMPLE.replacen(
        "no_answer = { action = \"forward_to_member_mobile\" }",
        "no_answer = { action = \"forward\" }",
        1,
    );
    let error = RoutingConfig::from_toml(&text).unwrap_err().to_string();
    assert!(
        error.contains("queues.no_answer: missing field \"number\""),
        "{error}"
    );
}

/// An unknown time zone is a parse error on its line.
#[test]
fn unknown_time_zone_names_the_line() {
    let text = EXAMPLE.replacen(
        "time_zone = \"Europe/Berlin\"",
        "time_zone = \"Europe/Berlinn\"",
        1,
    );
    let line = text
        .lines()
        .position(|line| line.contains("Berlinn"))
        .unwrap()
        + 1;
    let error = RoutingConfig::from_toml(&text).unwrap_err().to_string();
    assert!(error.starts_with(&format!("line {line},")), "{error}");
}

/// Malformed working hours are explained.
#[test]
fn malformed_time_range_is_explained() {
    let text = EXAMPLE.replacen(
        "tuesday = [\"09:00-18:00\"]",
        "tuesday = [\"18:00-09:00\"]",
        1,
    );
    let error = RoutingConfig::from_toml(&text).unwrap_err().to_string();
    assert!(error.contains("ends before it starts"), "{error}");
    let text = EXAMPLE.replacen("tuesday = [\"09:00-18:00\"]", "tuesday = [\"9-18\"]", 1);
    assert!(RoutingConfig::from_toml(&text)
        .unwrap_err()
        .to_string()
        .contains("HH:MM"));
}

/// An IVR option naming an unknown queue is reported with its key path.
#[test]
fn ivr_referencing_unknown_queue_names_the_key_path() {
    let text = EXAMPLE.replacen(
        "\"1\" = { action = \"queue\", queue = \"support\" }",
        "\"1\" = { action = \"queue\", queue = \"suport\" }",
        1,
    );
    let error = RoutingConfig::from_toml(&text).unwrap_err();
    assert_eq!(
        error.to_string(),
        "ivr_menus[\"support-main\"].options.\"1\".queue: unknown queue \"suport\""
    );
}

/// Several problems are all reported at once.
#[test]
fn all_validation_problems_are_reported() {
    let text = EXAMPLE
        .replacen(
            "queue = \"sales\"\nbackup_number",
            "queue = \"saless\"\nbackup_number",
            1,
        )
        .replacen("members = [201, 202]", "members = [201, 202, 999]", 1)
        .replacen("retries = 3", "retries = 6", 1);
    let ConfigError::Invalid(errors) = RoutingConfig::from_toml(&text).unwrap_err() else {
        panic!("expected validation errors");
    };
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "queues[\"support\"].members[2]",
            "lines[\"Sales\"].queue",
            "callback.retries"
        ]
    );
}

/// Two employees cannot share an extension, and a queue cannot use an employee's.
#[test]
fn duplicate_extension_is_refused() {
    let text = EXAMPLE.replacen("extension = \"500\"", "extension = \"101\"", 1);
    let error = RoutingConfig::from_toml(&text).unwrap_err().to_string();
    assert!(
        error.contains(
            "queues[\"sales\"].extension: extension 101 is already used by agents[0].extension"
        ),
        "{error}"
    );
}

/// Overlapping ranges on one day are refused.
#[test]
fn overlapping_ranges_are_refused() {
    let text = EXAMPLE.replacen(
        "monday = [\"09:00-13:00\", \"14:00-18:00\"]",
        "monday = [\"09:00-13:00\", \"12:00-18:00\"]",
        1,
    );
    let error = RoutingConfig::from_toml(&text).unwrap_err().to_string();
    assert!(
        error.contains("lines[\"Sales\"].working_hours.monday: 09:00-13:00 overlaps 12:00-18:00"),
        "{error}"
    );
}

/// Numbers must be E.164.
#[test]
fn line_number_must_be_e164() {
    let text = EXAMPLE.replacen("number = \"+493012345678\"", "number = \"030 12345678\"", 1);
    let error = RoutingConfig::from_toml(&text).unwrap_err().to_string();
    assert!(error.contains("lines[\"Sales\"].number"), "{error}");
}

/// Export writes TOML that reads back as the same settings.
#[test]
fn export_round_trips() {
    let config = RoutingConfig::from_toml(EXAMPLE).unwrap();
    let exported = config.to_toml().unwrap();
    let again =
        RoutingConfig::from_toml(&exported).unwrap_or_else(|error| panic!("{error}\n{exported}"));
    assert_eq!(config, again);
    assert!(exported.contains("strategy = \"evenly\""));
}

/// Empty settings are valid: nothing configured, every call goes nowhere.
#[test]
fn empty_settings_are_valid() {
    let config = RoutingConfig::from_toml("").unwrap();
    assert!(config.lines.is_empty());
    assert_eq!(config.outbound.country, "DE");
}

/// The pickup code is `*8` unless set; a set one survives export, a malformed one or one
/// equal to an agent's extension is refused with its key path.
#[test]
fn pickup_code_defaults_round_trips_and_is_validated() {
    let config = RoutingConfig::from_toml("").unwrap();
    assert_eq!(config.outbound.pickup_code(), "*8");
    assert!(!config.to_toml().unwrap().contains("pickup_code"));

    let config = RoutingConfig::from_toml("[outbound]\npickup_code = \"#77\"\n").unwrap();
    assert_eq!(config.outbound.pickup_code(), "#77");
    let again = RoutingConfig::from_toml(&config.to_toml().unwrap()).unwrap();
    assert_eq!(again, config);

    for bad in ["", "*8a", "123456789", "8 8"] {
        let text = format!("[outbound]\npickup_code = \"{bad}\"\n");
        let error = RoutingConfig::from_toml(&text).unwrap_err().to_string();
        assert!(error.contains("outbound.pickup_code"), "{bad:?}: {error}");
    }
    let longest = RoutingConfig::from_toml("[outbound]\npickup_code = \"*#123456\"\n").unwrap();
    assert_eq!(longest.outbound.pickup_code(), "*#123456");

    let clash = "[[agents]]\nid = 1\nname = \"A\"\nextension = \"88\"\n\n[outbound]\npickup_code = \"88\"\n";
    let error = RoutingConfig::from_toml(clash).unwrap_err().to_string();
    assert!(error.contains("outbound.pickup_code"), "{error}");
    assert!(error.contains("agents[0]"), "{error}");

    let typo = RoutingConfig::from_toml("[outbound]\npickup_cod = \"*8\"\n").unwrap_err();
    assert!(typo.to_string().contains("unknown field"), "{typo}");
}
