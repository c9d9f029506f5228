//! The caller card: everything an agent should see while the phone rings.

use domain::{CallRecord, Company, Contact, Deal, Lead, User};
use serde::Serialize;
use store::{CallParties, PhoneMatches};

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
