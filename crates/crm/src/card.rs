//! The caller card: everything an agent should see while the phone rings.

use domain::{CallRecord, Company, Contact, Deal, Lead, User};
use serde::Serialize;
use store::{CallParties, LoggedCall, PhoneMatches};

/// Answer of a caller lookup; also the screen-pop payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallerCard {
    /// E.164, or `None` for anonymous callers and numbers that do not parse.
    pub number: Option<String>,
    /// The number as it was given.
    pub raw: String,
    pub contact: Option<Contact>,
    pub company: Option<Company>,
    /// The open lead carrying the number (only when no contact or company does).
    pub lead: Option<Lead>,
    /// The most recent open deal of the contact, else of the company.
    pub deal: Option<Deal>,
    /// The responsible manager: the contact's, else the company's, else the deal's, else the lead's.
    pub responsible: Option<User>,
    pub last_call: Option<CallRecord>,
}

impl CallerCard {
    pub fn unknown(number: Option<String>, raw: String) -> Self {
        CallerCard {
            number,
            raw,
            contact: None,
            company: None,
            lead: None,
            deal: None,
            responsible: None,
            last_call: None,
        }
    }

    pub fn is_known(&self) -> bool {
        self.contact.is_some() || self.company.is_some() || self.lead.is_some()
    }

    /// The links a call with this caller gets.
    pub fn parties(&self) -> CallParties {
        CallParties {
            contact_id: self.contact.as_ref().map(|c| c.id),
            company_id: self.company.as_ref().map(|c| c.id),
            lead_id: self.lead.as_ref().map(|l| l.id),
            deal_id: self.deal.as_ref().map(|d| d.id),
        }
    }

    /// A short display name: the contact, else the company, else the lead's name or title.
    pub fn display_name(&self) -> Option<&str> {
        self.contact
            .as_ref()
            .map(|c| c.name.as_str())
            .or(self.company.as_ref().map(|c| c.name.as_str()))
            .or(self
                .lead
                .as_ref()
                .map(|l| l.name.as_deref().unwrap_or(&l.title)))
    }
}

/// Which of the entities carrying a number the card shows.
///
/// A contact beats a company beats a lead: a known person is the most specific answer. Among
/// several contacts sharing a number (a switchboard), the most recently updated wins, since
/// that is the one the team works with now. Only open leads count: a closed lead's caller is
/// unknown again and gets a new lead.
pub(crate) struct Pick {
    pub(crate) contact: Option<Contact>,
    pub(crate) company: Option<Company>,
    pub(crate) lead: Option<Lead>,
}

pub(crate) fn pick(matches: PhoneMatches) -> Pick {
    let contact = matches
        .contacts
        .into_iter()
        .max_by_key(|c| (c.updated_at, c.id));
    let company = matches.companies.into_iter().min_by_key(|c| c.id);
    let lead = if contact.is_none() && company.is_none() {
        matches.leads.into_iter().find(|l| l.status.is_open())
    } else {
        None
    };
    Pick {
        contact,
        company,
        lead,
    }
}

/// The card of a number after one more call with it was stored, when that call changed
/// nothing but the card's last call; `None` when it changed more (it created a lead, gave the
/// contact his first source, or links parties the card does not show) and the card must be
/// read again.
pub(crate) fn after_call(card: &CallerCard, logged: &LoggedCall) -> Option<CallerCard> {
    let call = &logged.call;
    let parties = CallParties {
        contact_id: call.contact_id,
        company_id: call.company_id,
        lead_id: call.lead_id,
        deal_id: call.deal_id,
    };
    let sets_source =
        call.source_id.is_some() && card.contact.as_ref().is_some_and(|c| c.source_id.is_none());
    if logged.created_lead.is_some() || parties != card.parties() || sets_source {
        return None;
    }
    let mut card = card.clone();
    // The store's order for "last": started latest, then the higher id. Calls are logged
    // when they end, so a long call can be stored after a shorter, later one.
    let newer = |last: &CallRecord| (call.started_at, call.id) > (last.started_at, last.id);
    if card.last_call.as_ref().is_none_or(newer) {
        card.last_call = Some(call.clone());
    }
    Some(card)
}
