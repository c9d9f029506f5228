//! The CRM side: companies, contacts, leads and deals, and the phones and emails they carry.

use crate::validation::{email, optional_text, require_text, FieldError, Validate};
use crate::{CompanyId, ContactId, DealId, LeadId, SourceId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// A phone number as stored: normalised for matching, raw for display.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone {
    /// E.164, e.g. `+4930123456`; the key every lookup matches on.
    pub e164: String,
    /// As it was typed or received, e.g. `030 / 123 456`.
    pub raw: String,
}

fn validate_emails(emails: &[String]) -> Result<(), FieldError> {
    if emails.len() > 20 {
        return Err(FieldError::new("emails", "at most 20 e-mail addresses"));
    }
    for (i, e) in emails.iter().enumerate() {
        email(&format!("emails[{i}]"), e)?;
    }
    Ok(())
}

fn validate_phone_count(phones: &[Phone]) -> Result<(), FieldError> {
    if phones.len() > 20 {
        return Err(FieldError::new("phones", "at most 20 phone numbers"));
    }
    Ok(())
}

/// A customer organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    pub id: CompanyId,
    pub name: String,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    pub responsible_id: Option<UserId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewCompany {
    pub name: String,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    pub responsible_id: Option<UserId>,
}

impl Validate for NewCompany {
    fn validate(&self) -> Result<(), FieldError> {
        require_text("name", &self.name, 300)?;
        validate_phone_count(&self.phones)?;
        validate_emails(&self.emails)
    }
}

/// A person we sell to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub company_id: Option<CompanyId>,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    /// The manager who owns the relationship; routing rings him first.
    pub responsible_id: Option<UserId>,
    /// Where the contact first came from (call tracking writes it on the first call).
    pub source_id: Option<SourceId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewContact {
    pub name: String,
    pub company_id: Option<CompanyId>,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    pub responsible_id: Option<UserId>,
    pub source_id: Option<SourceId>,
}

impl Validate for NewContact {
    fn validate(&self) -> Result<(), FieldError> {
        require_text("name", &self.name, 300)?;
        validate_phone_count(&self.phones)?;
        validate_emails(&self.emails)
    }
}

/// A change to a contact; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub company_id: Option<Option<CompanyId>>,
    pub phones: Option<Vec<Phone>>,
    pub emails: Option<Vec<String>>,
    pub responsible_id: Option<Option<UserId>>,
}

impl Validate for ContactPatch {
    fn validate(&self) -> Result<(), FieldError> {
        if let Some(name) = &self.name {
            require_text("name", name, 300)?;
        }
        if let Some(phones) = &self.phones {
            validate_phone_count(phones)?;
        }
        if let Some(emails) = &self.emails {
            validate_emails(emails)?;
        }
        Ok(())
    }
}

/// Where a lead stands. `New` and `InProgress` are open: a new call from its number joins it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    InProgress,
    /// Turned into a contact (and maybe a deal).
    Converted,
    /// Spam, wrong number, not interested.
    Junk,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 4] = [
        LeadStatus::New,
        LeadStatus::InProgress,
        LeadStatus::Converted,
        LeadStatus::Junk,
    ];

    pub fn is_open(self) -> bool {
        matches!(self, LeadStatus::New | LeadStatus::InProgress)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::InProgress => "in_progress",
            LeadStatus::Converted => "converted",
            LeadStatus::Junk => "junk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A possible customer not yet qualified: every unknown caller becomes one (per line rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub title: String,
    pub name: Option<String>,
    pub company_name: Option<String>,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    pub status: LeadStatus,
    pub source_id: Option<SourceId>,
    pub responsible_id: Option<UserId>,
    /// Set when the lead was converted.
    pub contact_id: Option<ContactId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewLead {
    pub title: String,
    pub name: Option<String>,
    pub company_name: Option<String>,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    pub status: LeadStatus,
    pub source_id: Option<SourceId>,
    pub responsible_id: Option<UserId>,
}

impl Validate for NewLead {
    fn validate(&self) -> Result<(), FieldError> {
        require_text("title", &self.title, 300)?;
        if let Some(name) = &self.name {
            optional_text("name", name, 300)?;
        }
        if let Some(company) = &self.company_name {
            optional_text("company_name", company, 300)?;
        }
        validate_phone_count(&self.phones)?;
        validate_emails(&self.emails)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeadPatch {
    pub title: Option<String>,
    pub name: Option<Option<String>>,
    pub status: Option<LeadStatus>,
    pub responsible_id: Option<Option<UserId>>,
    pub contact_id: Option<Option<ContactId>>,
}

impl Validate for LeadPatch {
    fn validate(&self) -> Result<(), FieldError> {
        if let Some(title) = &self.title {
            require_text("title", title, 300)?;
        }
        if let Some(Some(name)) = &self.name {
            optional_text("name", name, 300)?;
        }
        Ok(())
    }
}

/// Stage of a deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealStage {
    Open,
    Won,
    Lost,
}

impl DealStage {
    pub fn as_str(self) -> &'static str {
        match self {
            DealStage::Open => "open",
            DealStage::Won => "won",
            DealStage::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [DealStage::Open, DealStage::Won, DealStage::Lost]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Money in minor units (cents) and an ISO 4217 currency, so no float ever touches revenue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

fn validate_currency(currency: &str) -> Result<(), FieldError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(FieldError::new(
            "currency",
            "must be an ISO 4217 code such as EUR",
        ))
    }
}

/// A sale in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    pub id: DealId,
    pub title: String,
    pub stage: DealStage,
    pub contact_id: Option<ContactId>,
    pub company_id: Option<CompanyId>,
    pub responsible_id: Option<UserId>,
    pub amount: Money,
    pub created_at: Timestamp,
    pub closed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDeal {
    pub title: String,
    pub stage: DealStage,
    pub contact_id: Option<ContactId>,
    pub company_id: Option<CompanyId>,
    pub responsible_id: Option<UserId>,
    pub amount: Money,
}

impl Validate for NewDeal {
    fn validate(&self) -> Result<(), FieldError> {
        require_text("title", &self.title, 300)?;
        if self.amount.amount_minor < 0 {
            return Err(FieldError::new("amount", "must not be negative"));
        }
        validate_currency(&self.amount.currency)?;
        if self.contact_id.is_none() && self.company_id.is_none() {
            return Err(FieldError::new(
                "contact_id",
                "a deal needs a contact or a company",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DealPatch {
    pub title: Option<String>,
    pub stage: Option<DealStage>,
    pub responsible_id: Option<Option<UserId>>,
    pub amount: Option<Money>,
}

impl Validate for DealPatch {
    fn validate(&self) -> Result<(), FieldError> {
        if let Some(title) = &self.title {
            require_text("title", title, 300)?;
        }
        if let Some(amount) = &self.amount {
            if amount.amount_minor < 0 {
                return Err(FieldError::new("amount", "must not be negative"));
            }
            validate_currency(&amount.currency)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_validation_names_the_field() {
        let mut c = NewContact {
            name: "Anna".into(),
            emails: vec!["a@b.de".into(), "nope".into()],
            ..Default::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "emails[1]");
        c.emails.pop();
        assert!(c.validate().is_ok());
        c.name = " ".into();
        assert_eq!(c.validate().unwrap_err().field, "name");
    }

    #[test]
    fn deal_needs_an_owner_party_and_a_currency() {
        let deal = NewDeal {
            title: "Fleet".into(),
            stage: DealStage::Open,
            contact_id: None,
            company_id: None,
            responsible_id: None,
            amount: Money {
                amount_minor: 100,
                currency: "EUR".into(),
            },
        };
        assert_eq!(deal.validate().unwrap_err().field, "contact_id");
        let deal = NewDeal {
            contact_id: Some(ContactId(1)),
            amount: Money {
                amount_minor: 1,
                currency: "eur".into(),
            },
            ..deal
        };
        assert_eq!(deal.validate().unwrap_err().field, "currency");
    }

    #[test]
    fn open_lead_states() {
        assert!(LeadStatus::New.is_open());
        assert!(LeadStatus::InProgress.is_open());
        assert!(!LeadStatus::Converted.is_open());
        assert!(!LeadStatus::Junk.is_open());
        for s in LeadStatus::ALL {
            assert_eq!(LeadStatus::parse(s.as_str()), Some(s));
        }
    }
}
