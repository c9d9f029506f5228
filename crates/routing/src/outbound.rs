//! Outbound decisions: which line an employee's call goes out on, and what number is dialed.
//!
//! The steps, in order:
//! 1. keep digits, `+`, `*` and `#` of what was dialed;
//! 2. a dial prefix (`*123*`, `#123#`, `801`; the longest match wins) picks the line and is
//!    removed; otherwise the agent's own `outbound_line`, then `outbound.default_line`, then
//!    the first line the agent may use;
//! 3. the employee must be allowed on that line;
//! 4. the first rewrite rule whose pattern matches rewrites the number (`^7(\d{10})$` → `8$1`);
//! 5. the number is made E.164: `+` stays, the international exit prefix becomes `+`, the
//!    national prefix becomes the country code, a number no longer than the local length gets
//!    the default area code, anything else is a national number without its prefix;
//! 6. forbidden country codes and allowed directions are checked.

use serde::{Deserialize, Serialize};

use crate::config::{country_id, Direction, Line, RoutingConfig};
use crate::ids::AgentId;

/// The outcome of a permitted outbound call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundDecision {
    /// Name of the line the call goes out on.
    pub line: String,
    /// The caller ID presented: the line's number.
    pub caller_id: String,
    /// The number to dial, E.164.
    pub number: String,
    pub direction: Direction,
    /// The prefix that picked the line, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The number after the rewrite rule, if one applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewritten: Option<String>,
}

/// Why an outbound call is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Refusal {
    #[error("agent {agent} is not configured")]
    UnknownAgent { agent: AgentId },
    #[error("no line is available for outbound calls")]
    NoLine,
    #[error("agent {agent} may not call out on line '{line}'")]
    LineNotAllowed { agent: AgentId, line: String },
    #[error("{number:?} is not a phone number")]
    InvalidNumber { number: String },
    #[error("calls to country code +{code} are forbidden")]
    ForbiddenCountryCode { code: u16 },
    #[error("{direction} calls are not allowed")]
    DirectionNotAllowed { direction: Direction },
}

/// Decides how an employee's dialed number goes out. Pure: no clock, no I/O.
pub fn route_outbound(
    config: &RoutingConfig,
    agent: AgentId,
    dialed: &str,
) -> Result<OutboundDecision, Refusal> {
    let rules = &config.outbound;
    let agent_config = config.agent(agent).ok_or(Refusal::UnknownAgent { agent })?;
    let cleaned: String = dialed
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'))
        .collect();
    let invalid = || Refusal::InvalidNumber {
        number: dialed.to_owned(),
    };

    // 2. Line by prefix, longest first.
    let by_prefix = rules
        .line_prefixes
        .iter()
        .filter(|rule| cleaned.len() > rule.prefix.len() && cleaned.starts_with(&rule.prefix))
        .max_by_key(|rule| rule.prefix.len());
    let (line, rest, prefix): (&Line, &str, Option<String>) = match by_prefix {
        Some(rule) => (
            config.line_by_name(&rule.line).ok_or(Refusal::NoLine)?,
            &cleaned[rule.prefix.len()..],
            Some(rule.prefix.clone()),
        ),
        None => {
            let chosen = agent_config
                .outbound_line
                .as_deref()
                .or(rules.default_line.as_deref())
                .and_then(|name| config.line_by_name(name))
                .or_else(|| config.lines.iter().find(|line| may_use(line, agent)))
                .ok_or(Refusal::NoLine)?;
            (chosen, cleaned.as_str(), None)
        }
    };

    // 3. Who may use the line.
    if !may_use(line, agent) {
        return Err(Refusal::LineNotAllowed {
            agent,
            line: line.name.clone(),
        });
    }

    // 4. Rewrite.
    let rewritten = rules
        .rewrite
        .iter()
        .find(|rule| rule.pattern.0.is_match(rest))
        .map(|rule| {
            rule.pattern
                .0
                .replace(rest, rule.replacement.as_str())
                .into_owned()
        });
    let number = rewritten.as_deref().unwrap_or(rest);
    let digits = number.strip_prefix('+').unwrap_or(number);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }

    // 5. E.164.
    let home = country_id(&rules.country)
        .and_then(|id| phonenumber::metadata::DATABASE.by_id(id.as_ref()))
        .map(|meta| meta.country_code())
        .ok_or(Refusal::NoLine)?;
    let area = rules.default_area_code.as_deref().unwrap_or("");
    let mut dialed_locally = false;
    let e164 = if number.starts_with('+') {
        number.to_owned()
    } else if !rules.international_prefix.is_empty()
        && number.starts_with(&rules.international_prefix)
    {
        format!("+{}", &number[rules.international_prefix.len()..])
    } else if !rules.national_prefix.is_empty() && number.starts_with(&rules.national_prefix) {
        format!("+{home}{}", &number[rules.national_prefix.len()..])
    } else if rules
        .local_number_length
        .is_some_and(|length| number.len() <= length as usize)
        && !area.is_empty()
    {
        dialed_locally = true;
        format!("+{home}{area}{number}")
    } else {
        format!("+{home}{number}")
    };
    let parsed = phonenumber::parse(None, &e164).map_err(|_| invalid())?;
    let code = parsed.code().value();

    // 6. Checks.
    if rules.forbidden_country_codes.contains(&code) {
        return Err(Refusal::ForbiddenCountryCode { code });
    }
    let national = e164
        .strip_prefix('+')
        .and_then(|rest| rest.strip_prefix(&code.to_string()))
        .unwrap_or("");
    let direction = if code != home {
        Direction::International
    } else if parsed.number_type(&phonenumber::metadata::DATABASE) == phonenumber::Type::Mobile {
        Direction::Mobile
    } else if dialed_locally || (!area.is_empty() && national.starts_with(area)) {
        Direction::Local
    } else {
        Direction::National
    };
    if !rules.allowed_directions.contains(&direction) {
        return Err(Refusal::DirectionNotAllowed { direction });
    }
    Ok(OutboundDecision {
        line: line.name.clone(),
        caller_id: line.number.clone(),
        number: e164,
        direction,
        prefix,
        rewritten,
    })
}

fn may_use(line: &Line, agent: AgentId) -> bool {
    line.outbound_agents.is_empty() || line.outbound_agents.contains(&agent)
}
