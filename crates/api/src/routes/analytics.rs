//! `GET /api/v1/analytics`: the numbers behind the supervisor's charts, for one period.
//!
//! - per manager: incoming / outgoing, answered / missed, total and average talk time, deals
//!   won among the deals his calls were about;
//! - per queue: answered within the service-level time, abandoned, average wait;
//! - per source (call tracking): calls, leads, deals, deals won and their revenue.
//!
//! Computed from the call log in one pass over the period's calls (read a page at a time) and
//! the won deals; the web app draws the charts and exports CSV from this one answer.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::json::QueryParams;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use domain::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use store::{CallFilter, DealFilter, Page};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/analytics", get(analytics))
}

/// At most this many calls are read for one answer; beyond it the answer says `truncated`.
const MAX_CALLS: usize = 200_000;
/// The service level's default: answered within 20 seconds.
const DEFAULT_SERVICE_LEVEL_S: i64 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyticsQuery {
    from: Option<Timestamp>,
    until: Option<Timestamp>,
    /// "Answered within N seconds" for the queues' service level.
    service_level_s: Option<i64>,
}

#[derive(Debug, Default, Serialize, PartialEq)]
struct ManagerRow {
    agent_id: Option<UserId>,
    calls: u64,
    incoming: u64,
    outgoing: u64,
    answered: u64,
    missed: u64,
    talk_total_s: i64,
    talk_avg_s: f64,
    deals: u64,
    deals_won: u64,
    deals_won_per_call: f64,
}

#[derive(Debug, Default, Serialize, PartialEq)]
struct QueueRow {
    queue: Option<String>,
    calls: u64,
    answered: u64,
    answered_in_time: u64,
    /// `answered_in_time / calls`, 0 when there were none.
    service_level: f64,
    abandoned: u64,
    wait_avg_s: f64,
}

#[derive(Debug, Default, Serialize, PartialEq)]
struct SourceRow {
    source_id: Option<SourceId>,
    calls: u64,
    leads: u64,
    deals: u64,
    deals_won: u64,
    /// Won deals' amounts, one entry per currency.
    revenue: Vec<Money>,
}

#[derive(Debug, Serialize)]
struct Report {
    from: Option<Timestamp>,
    until: Option<Timestamp>,
    service_level_s: i64,
    calls: u64,
    truncated: bool,
    managers: Vec<ManagerRow>,
    queues: Vec<QueueRow>,
    sources: Vec<SourceRow>,
}

async fn analytics(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(q): QueryParams<AnalyticsQuery>,
) -> ApiResult<Response> {
    principal.require(Role::Supervisor)?;
    let service_level_s = q.service_level_s.unwrap_or(DEFAULT_SERVICE_LEVEL_S);
    if !(1..=3600).contains(&service_level_s) {
        return Err(ApiError::invalid(
            "service_level_s",
            "must be between 1 and 3600 seconds",
        ));
    }
    if let (Some(from), Some(until)) = (q.from, q.until) {
        if until <= from {
            return Err(ApiError::invalid("until", "must be after from"));
        }
    }
    let filter = CallFilter {
        from: q.from,
        until: q.until,
        ..CallFilter::default()
    };
    let mut calls = Vec::new();
    let mut truncated = false;
    let mut offset = 0u64;
    loop {
        let page = Page::new(Page::MAX_LIMIT, offset);
        let batch = state.store().list_calls(&filter, page).await?;
        let n = batch.len();
        calls.extend(batch);
        if calls.len() >= MAX_CALLS {
            truncated = n == page.limit as usize;
            calls.truncate(MAX_CALLS);
            break;
        }
        if n < page.limit as usize {
            break;
        }
        offset += n as u64;
    }
    let won = won_deals(&state).await?;
    let report = summarize(&calls, &won, service_level_s, q.from, q.until, truncated);
    state.reply(&principal, StatusCode::OK, &report).await
}

/// Every won deal by id (deals are far fewer than calls).
async fn won_deals(state: &AppState) -> ApiResult<HashMap<DealId, Deal>> {
    let filter = DealFilter {
        stage: Some(DealStage::Won),
        ..DealFilter::default()
    };
    let mut won = HashMap::new();
    let mut offset = 0u64;
    loop {
        let page = Page::new(Page::MAX_LIMIT, offset);
        let batch = state.store().list_deals(&filter, page).await?;
        let n = batch.len();
        won.extend(batch.into_iter().map(|d| (d.id, d)));
        if n < page.limit as usize {
            return Ok(won);
        }
        offset += n as u64;
    }
}

fn ratio(part: f64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        // Two decimals are plenty for a chart and keep the JSON short.
        (part / whole as f64 * 100.0).round() / 100.0
    }
}

/// The report for a period's calls; pure, so the arithmetic is tested without a store.
fn summarize(
    calls: &[CallRecord],
    won: &HashMap<DealId, Deal>,
    service_level_s: i64,
    from: Option<Timestamp>,
    until: Option<Timestamp>,
    truncated: bool,
) -> Report {
    let mut managers: BTreeMap<Option<UserId>, (ManagerRow, BTreeSet<DealId>)> = BTreeMap::new();
    let mut queues: BTreeMap<String, (QueueRow, i64)> = BTreeMap::new();
    let mut sources: BTreeMap<Option<SourceId>, (SourceRow, BTreeSet<LeadId>, BTreeSet<DealId>)> =
        BTreeMap::new();

    for call in calls {
        let answered = call.status == CallStatus::Answered;

        let (m, deals) = managers.entry(call.agent_id).or_default();
        m.calls += 1;
        match call.direction {
            Direction::Incoming => m.incoming += 1,
            Direction::Outgoing | Direction::Callback => m.outgoing += 1,
        }
        if answered {
            m.answered += 1;
            m.talk_total_s += call.duration_s;
        } else {
            m.missed += 1;
        }
        deals.extend(call.deal_id);

        if let Some(name) = &call.queue {
            let (row, wait_total) = queues.entry(name.clone()).or_default();
            row.calls += 1;
            let waited_until = call.answered_at.unwrap_or(call.ended_at);
            let wait = (waited_until - call.started_at).num_seconds().max(0);
            *wait_total += wait;
            if answered {
                row.answered += 1;
                if wait <= service_level_s {
                    row.answered_in_time += 1;
                }
            } else {
                row.abandoned += 1;
            }
        }

        if call.direction == Direction::Incoming || call.source_id.is_some() {
            let (s, leads, deals) = sources.entry(call.source_id).or_default();
            s.calls += 1;
            leads.extend(call.lead_id);
            deals.extend(call.deal_id);
        }
    }

    let managers = managers
        .into_iter()
        .map(|(agent_id, (mut m, deals))| {
            m.agent_id = agent_id;
            m.talk_avg_s = ratio(m.talk_total_s as f64, m.answered);
            m.deals = deals.len() as u64;
            m.deals_won = deals.iter().filter(|d| won.contains_key(d)).count() as u64;
            m.deals_won_per_call = ratio(m.deals_won as f64, m.calls);
            m
        })
        .collect();
    let queues = queues
        .into_iter()
        .map(|(name, (mut q, wait_total))| {
            q.queue = Some(name);
            q.service_level = ratio(q.answered_in_time as f64, q.calls);
            q.wait_avg_s = ratio(wait_total as f64, q.calls);
            q
        })
        .collect();
    let sources = sources
        .into_iter()
        .map(|(source_id, (mut s, leads, deals))| {
            s.source_id = source_id;
            s.leads = leads.len() as u64;
            s.deals = deals.len() as u64;
            let mut revenue: BTreeMap<String, i64> = BTreeMap::new();
            for deal in deals.iter().filter_map(|d| won.get(d)) {
                s.deals_won += 1;
                *revenue.entry(deal.amount.currency.clone()).or_default() +=
                    deal.amount.amount_minor;
            }
            s.revenue = revenue
                .into_iter()
                .map(|(currency, amount_minor)| Money {
                    amount_minor,
                    currency,
                })
                .collect();
            s
        })
        .collect();
    Report {
        from,
        until,
        service_level_s,
        calls: calls.len() as u64,
        truncated,
        managers,
        queues,
        sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn call(id: i64, agent: i64, direction: Direction, status: CallStatus) -> CallRecord {
        let started = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
        CallRecord {
            id: CallId(id),
            direction,
            caller: CallNumber {
                e164: Some("+4930111".into()),
                raw: "+4930111".into(),
            },
            called: CallNumber {
                e164: Some("+4989222".into()),
                raw: "+4989222".into(),
            },
            line_id: None,
            source_id: None,
            agent_id: Some(UserId(agent)),
            queue: None,
            started_at: started,
            answered_at: (status == CallStatus::Answered).then(|| started + Duration::seconds(5)),
            ended_at: started + Duration::seconds(65),
            duration_s: if status == CallStatus::Answered {
                60
            } else {
                0
            },
            status,
            recording: None,
            rating: None,
            notes: None,
            transcript: None,
            contact_id: None,
            company_id: None,
            lead_id: None,
            deal_id: None,
            origin: CallOrigin::Api,
            idempotency_key: None,
        }
    }

    fn won_deal(id: i64, cents: i64, currency: &str) -> Deal {
        Deal {
            id: DealId(id),
            title: "Fleet".into(),
            stage: DealStage::Won,
            contact_id: None,
            company_id: None,
            responsible_id: None,
            amount: Money {
                amount_minor: cents,
                currency: currency.into(),
            },
            created_at: Utc::now(),
            closed_at: None,
        }
    }

    #[test]
    fn managers_count_directions_outcomes_talk_time_and_won_deals() {
        let mut a = call(1, 1, Direction::Incoming, CallStatus::Answered);
        a.deal_id = Some(DealId(7));
        let mut b = call(2, 1, Direction::Outgoing, CallStatus::Answered);
        b.deal_id = Some(DealId(7));
        b.duration_s = 30;
        let c = call(3, 1, Direction::Incoming, CallStatus::Missed);
        let d = call(4, 2, Direction::Callback, CallStatus::Busy);
        let won = HashMap::from([(DealId(7), won_deal(7, 1000, "EUR"))]);
        let report = summarize(&[a, b, c, d], &won, 20, None, None, false);
        assert_eq!(report.calls, 4);
        let anna = &report.managers[0];
        assert_eq!(anna.agent_id, Some(UserId(1)));
        assert_eq!((anna.calls, anna.incoming, anna.outgoing), (3, 2, 1));
        assert_eq!((anna.answered, anna.missed), (2, 1));
        assert_eq!(anna.talk_total_s, 90);
        assert_eq!(anna.talk_avg_s, 45.0);
        // One deal, talked about twice, counts once.
        assert_eq!((anna.deals, anna.deals_won), (1, 1));
        assert_eq!(anna.deals_won_per_call, 0.33);
        let bert = &report.managers[1];
        assert_eq!((bert.outgoing, bert.missed, bert.talk_avg_s), (1, 1, 0.0));
    }

    #[test]
    fn queues_measure_service_level_abandoned_and_wait() {
        let started = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
        let mut fast = call(1, 1, Direction::Incoming, CallStatus::Answered);
        fast.queue = Some("sales".into());
        fast.answered_at = Some(started + Duration::seconds(10));
        let mut slow = call(2, 1, Direction::Incoming, CallStatus::Answered);
        slow.queue = Some("sales".into());
        slow.answered_at = Some(started + Duration::seconds(40));
        let mut gave_up = call(3, 1, Direction::Incoming, CallStatus::Missed);
        gave_up.queue = Some("sales".into());
        gave_up.ended_at = started + Duration::seconds(30);
        let no_queue = call(4, 1, Direction::Incoming, CallStatus::Answered);
        let report = summarize(
            &[fast, slow, gave_up, no_queue],
            &HashMap::new(),
            20,
            None,
            None,
            false,
        );
        assert_eq!(report.queues.len(), 1);
        let sales = &report.queues[0];
        assert_eq!(sales.queue.as_deref(), Some("sales"));
        assert_eq!((sales.calls, sales.answered, sales.abandoned), (3, 2, 1));
        assert_eq!(sales.answered_in_time, 1);
        assert_eq!(sales.service_level, 0.33);
        assert_eq!(sales.wait_avg_s, 26.67);
    }

    #[test]
    fn sources_count_distinct_leads_and_deals_and_sum_revenue_per_currency() {
        let mut rows = Vec::new();
        for (id, lead, deal) in [
            (1, Some(1), None),
            (2, Some(1), Some(5)),
            (3, Some(2), Some(6)),
        ] {
            let mut c = call(id, 1, Direction::Incoming, CallStatus::Answered);
            c.source_id = Some(SourceId(9));
            c.lead_id = lead.map(LeadId);
            c.deal_id = deal.map(DealId);
            rows.push(c);
        }
        // An outgoing call from no source is not a tracking figure.
        rows.push(call(4, 1, Direction::Outgoing, CallStatus::Answered));
        let won = HashMap::from([
            (DealId(5), won_deal(5, 1000, "EUR")),
            (DealId(6), won_deal(6, 250, "EUR")),
        ]);
        let report = summarize(&rows, &won, 20, None, None, false);
        assert_eq!(report.sources.len(), 1);
        let google = &report.sources[0];
        assert_eq!(google.source_id, Some(SourceId(9)));
        assert_eq!(
            (google.calls, google.leads, google.deals, google.deals_won),
            (3, 2, 2, 2)
        );
        assert_eq!(
            google.revenue,
            vec![Money {
                amount_minor: 1250,
                currency: "EUR".into()
            }]
        );
    }
}
