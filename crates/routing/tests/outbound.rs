//! Outbound calls: line selection by prefix, who may use which line, rewrite rules, local
//! numbers and area codes, forbidden country codes and allowed directions. Against the
//! example settings (office in Berlin, area code 30, local numbers up to 8 digits).

mod common;
use common::EXAMPLE;
use routing::config::Direction;
use routing::{route_outbound, AgentId, ConfigError, OutboundDecision, Refusal, RoutingConfig};

fn example() -> RoutingConfig {
    RoutingConfig::from_toml(EXAMPLE).expect("example settings parse")
}

fn dial(agent: i64, dialed: &str) -> Result<OutboundDecision, Refusal> {
    route_outbound(&example(), AgentId(agent), dialed)
}

fn ok(agent: i64, dialed: &str) -> OutboundDecision {
    dial(agent, dialed).unwrap_or_else(|refusal| panic!("{dialed} refused: {refusal}"))
}

/// A short number is local: Anna dials 1234567 → +49 30 1234567 on her default line 'Sales',
/// showing the Sales number.
#[test]
fn short_number_gets_the_default_area_code() {
    let decision = ok(101, "1234567");
    assert_eq!(decision.number, "+49301234567");
    assert_eq!(decision.direction, Direction::Local);
    assert_eq!(decision.line, "Sales");
    assert_eq!(decision.caller_id, "+493012345678");
}

/// The own area code dialled with the national prefix is still local.
#[test]
fn own_area_code_with_national_prefix_is_local() {
    assert_eq!(ok(101, "030 123 4567").direction, Direction::Local);
}

/// Munich from Berlin is national.
#[test]
fn other_area_code_is_national() {
    let decision = ok(101, "089 1234567");
    assert_eq!(
        (decision.number.as_str(), decision.direction),
        ("+49891234567", Direction::National)
    );
}

/// A German mobile number is "mobile".
#[test]
fn mobile_number_is_mobile() {
    let decision = ok(101, "0170 1234567");
    assert_eq!(
        (decision.number.as_str(), decision.direction),
        ("+491701234567", Direction::Mobile)
    );
}

/// The exit prefix 00 becomes `+`; France is international.
#[test]
fn exit_prefix_makes_an_international_number() {
    let decision = ok(101, "0033 1 23 45 67 89");
    assert_eq!(
        (decision.number.as_str(), decision.direction),
        ("+33123456789", Direction::International)
    );
}

/// A number already in `+` form is kept.
#[test]
fn plus_form_is_kept() {
    assert_eq!(ok(101, "+44 20 7946 0958").number, "+442079460958");
}

/// Prefix `*1*` picks line 'Support' for Eva, who may use it; it is removed from the number.
#[test]
fn star_prefix_selects_the_line() {
    let decision = ok(201, "*1*030 1234567");
    assert_eq!(decision.line, "Support");
    assert_eq!(decision.prefix.as_deref(), Some("*1*"));
    assert_eq!(decision.number, "+49301234567");
    assert_eq!(decision.caller_id, "+493012345679");
}

/// Prefix `#2#` and the digit prefix `801` both pick the Hotline.
#[test]
fn hash_and_digit_prefixes_select_the_line() {
    assert_eq!(ok(101, "#2#12345678").line, "Hotline");
    let decision = ok(101, "8011234567");
    assert_eq!(
        (decision.line.as_str(), decision.number.as_str()),
        ("Hotline", "+49301234567")
    );
}

/// Anna is not among the employees allowed on 'Support': the call is refused.
#[test]
fn employee_not_allowed_on_the_line_is_refused() {
    assert_eq!(
        dial(101, "*1*0301234567"),
        Err(Refusal::LineNotAllowed {
            agent: AgentId(101),
            line: "Support".into()
        })
    );
}

/// David's own outbound line (Hotline) is used when he dials without a prefix.
#[test]
fn agents_own_outbound_line_is_the_default() {
    assert_eq!(ok(104, "1234567").line, "Hotline");
}

/// Rewrite rule `^9(0\d+)$` → `$1`: the old "9 for an outside line" is dropped.
#[test]
fn rewrite_rule_drops_the_outside_line_digit() {
    let decision = ok(101, "9 089 1234567");
    assert_eq!(decision.rewritten.as_deref(), Some("0891234567"));
    assert_eq!(decision.number, "+49891234567");
}

/// Calls to forbidden country codes (+882 international networks) are refused.
#[test]
fn forbidden_country_code_is_refused() {
    assert_eq!(
        dial(101, "00882 123456789"),
        Err(Refusal::ForbiddenCountryCode { code: 882 })
    );
}

/// With only local and national allowed, mobile and international calls are refused.
#[test]
fn directions_not_allowed_are_refused() {
    let settings = EXAMPLE.replacen(
        "allowed_directions = [\"local\", \"national\", \"mobile\", \"international\"]",
        "allowed_directions = [\"local\", \"national\"]",
        1,
    );
    let config = RoutingConfig::from_toml(&settings).unwrap();
    let refuse = |dialed| route_outbound(&config, AgentId(101), dialed);
    assert_eq!(
        refuse("01701234567"),
        Err(Refusal::DirectionNotAllowed {
            direction: Direction::Mobile
        })
    );
    assert_eq!(
        refuse("+33123456789"),
        Err(Refusal::DirectionNotAllowed {
            direction: Direction::International
        })
    );
    assert!(refuse("0891234567").is_ok());
}

/// Letters are not a phone number.
#[test]
fn garbage_is_not_a_number() {
    assert!(matches!(
        dial(101, "call me"),
        Err(Refusal::InvalidNumber { .. })
    ));
}

/// An employee the routing settings do not know cannot call out.
#[test]
fn unknown_employee_is_refused() {
    assert_eq!(
        dial(999, "1234567"),
        Err(Refusal::UnknownAgent {
            agent: AgentId(999)
        })
    );
}

/// Russian habits: national prefix 8, exit prefix 810, and the rewrite "leading 7 → 8" so that
/// 7 916 ... dialled like an international number without `+` is treated as domestic.
#[test]
fn russian_rewrite_leading_seven_to_eight() {
    let settings = r#"
[[agents]]
id = 1
name = "Ivan"

[[lines]]
number = "+74951234567"
name = "Moscow"

[outbound]
country = "RU"
default_area_code = "495"
local_number_length = 7
national_prefix = "8"
international_prefix = "810"

[[outbound.rewrite]]
pattern = "^7(\\d{10})$"
replacement = "8$1"
"#;
    let config = RoutingConfig::from_toml(settings).unwrap();
    let decision = route_outbound(&config, AgentId(1), "79161234567").unwrap();
    assert_eq!(decision.rewritten.as_deref(), Some("89161234567"));
    assert_eq!(
        (decision.number.as_str(), decision.direction),
        ("+79161234567", Direction::Mobile)
    );
    let local = route_outbound(&config, AgentId(1), "1234567").unwrap();
    assert_eq!(
        (local.number.as_str(), local.direction),
        ("+74951234567", Direction::Local)
    );
    let abroad = route_outbound(&config, AgentId(1), "810 49 30 1234567").unwrap();
    assert_eq!(
        (abroad.number.as_str(), abroad.direction),
        ("+49301234567", Direction::International)
    );
}

fn with_prefix(prefix: &str) -> Result<RoutingConfig, ConfigError> {
    RoutingConfig::from_toml(&EXAMPLE.replacen(
        "prefix = \"801\"",
        &format!("prefix = \"{prefix}\""),
        1,
    ))
}

/// A digit prefix that starts with a country code (49 Germany, 810 → 81 Japan, 7 Russia) is
/// refused when the settings are loaded; the error names the key.
#[test]
fn prefix_colliding_with_a_country_code_is_refused() {
    for (prefix, code) in [("49", "+49"), ("810", "+81"), ("7", "+7"), ("12", "+1")] {
        let error = with_prefix(prefix).unwrap_err().to_string();
        assert!(
            error.contains("outbound.line_prefixes[2].prefix")
                && error.contains(&format!("collides with country code {code}")),
            "{prefix}: {error}"
        );
    }
}

/// A short digit prefix that is the start of a country code (`3` → +30...) collides too, and a
/// prefix starting with the national or exit prefix would swallow ordinary numbers.
#[test]
fn prefix_that_starts_a_country_code_or_a_dialing_prefix_is_refused() {
    assert!(with_prefix("3")
        .unwrap_err()
        .to_string()
        .contains("collides with country code +30"));
    assert!(with_prefix("0")
        .unwrap_err()
        .to_string()
        .contains("dialing prefix"));
}

/// `801`, `*123*` and `#123#` collide with nothing.
#[test]
fn prefixes_that_collide_with_nothing_are_accepted() {
    for prefix in ["801", "*123*", "#123#"] {
        assert!(with_prefix(prefix).is_ok(), "{prefix}");
    }
}
