//! `ringbase import contacts FILE`: contacts from CSV and vCard files.
//!
//! An import runs in three steps, and only the last one touches the store:
//! 1. *Read* ([`csv_file`], [`vcard`]): the file, row by row (card by card), becomes
//!    [`ContactDraft`]s, or [`SkippedRow`]s for rows without a name or without any number or
//!    e-mail. Pure and streaming: a million rows never sit in memory at once.
//! 2. *Check* ([`ContactDraft::check`]): numbers are normalised to E.164 by the same rule the
//!    CRM uses ([`crm::Crm::normalize`]), e-mails and the contact are validated. A row with
//!    one bad value is skipped whole, with the value in the reason, rather than imported with
//!    a number silently missing.
//! 3. *Write* ([`import_contacts`]): companies are found by name or created once, contacts go
//!    in through [`crm::Crm::create_contacts`] in chunks of [`CHUNK`], one transaction each.
//!
//! A bad row never aborts the import; a file that cannot be read, or a CSV header without a
//! name column or without any phone or e-mail column, does (nothing is written then).

use anyhow::Context;
use domain::{CompanyId, FieldError, NewCompany, NewContact, Phone, Validate};
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Contacts per `create_contacts` call: big enough that per-transaction costs (the commit's
/// fsync) vanish, small enough that a chunk's SQL and memory stay modest.
pub(crate) const CHUNK: usize = 2_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Csv,
    Vcard,
}

impl Format {
    /// By extension (`.csv`, `.tsv`, `.txt`, `.vcf`, `.vcard`); `None` when it says nothing.
    fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "vcf" | "vcard" => Some(Format::Vcard),
            _ => None,
        }
    }

    /// By content: a vCard file starts with `BEGIN:VCARD` (after blank lines or a BOM).
    fn sniff(start: &[u8]) -> Format {
        let start = start.strip_prefix(UTF8_BOM).unwrap_or(start);
        let first = start
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map_or(&[][..], |i| &start[i..]);
        if first.len() >= 11 && first[..11].eq_ignore_ascii_case(b"BEGIN:VCARD") {
            Format::Vcard
        } else {
            Format::Csv
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SkippedRow {
    /// 1-based line number in the file (for a vCard, the line of its `BEGIN:VCARD`).
    pub(crate) line: u64,
    pub(crate) reason: String,
}

impl SkippedRow {
    fn new(line: u64, reason: impl Into<String>) -> Self {
        SkippedRow {
            line,
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct ImportReport {
    pub(crate) imported: u64,
    pub(crate) skipped: Vec<SkippedRow>,
    /// Companies that did not exist yet and were created for the imported contacts.
    pub(crate) companies_created: u64,
}

/// Why a whole file cannot be imported (as opposed to one row, which is skipped).
#[derive(Debug)]
pub(crate) enum ImportError {
    Read(std::io::Error),
    /// The CSV file has no header row.
    Empty,
    /// No column the importer reads as a name.
    NoNameColumn {
        headers: Vec<String>,
    },
    /// Neither a phone nor an e-mail column.
    NoPhoneOrEmailColumn {
        headers: Vec<String>,
    },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Read(e) => write!(f, "reading the file: {e}"),
            ImportError::Empty => f.write_str("the file is empty: a CSV file needs a header row"),
            ImportError::NoNameColumn { headers } => write!(
                f,
                "no name column in the header ({}); expected one of Name, Full name, \
                 First name + Last name, Vorname + Nachname, Nome + Cognome, Imię + Nazwisko",
                quoted_list(headers)
            ),
            ImportError::NoPhoneOrEmailColumn { headers } => write!(
                f,
                "no phone or e-mail column in the header ({}); expected e.g. Phone, Mobile, \
                 Work phone, Telefon, Handy, Email, E-Mail",
                quoted_list(headers)
            ),
        }
    }
}

impl std::error::Error for ImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImportError::Read(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for ImportError {
    fn from(e: std::io::Error) -> Self {
        ImportError::Read(e)
    }
}

impl From<csv::Error> for ImportError {
    fn from(e: csv::Error) -> Self {
        // Records are read as bytes and flexibly, so the only csv errors left are I/O errors.
        ImportError::Read(std::io::Error::other(e))
    }
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One value read from the file and where it came from, so a reason can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldValue {
    /// `column "Mobile"` for CSV, `TEL` for vCard.
    pub(crate) origin: String,
    pub(crate) value: String,
}

/// A contact as the file has it, before its numbers and e-mails are checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ContactDraft {
    pub(crate) line: u64,
    /// Never empty: a row without a name is skipped when read.
    pub(crate) name: String,
    pub(crate) phones: Vec<FieldValue>,
    pub(crate) emails: Vec<FieldValue>,
    pub(crate) company: Option<String>,
}

/// A contact ready to be written; `contact.company_id` is filled in from `company` on write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckedContact {
    pub(crate) line: u64,
    pub(crate) contact: NewContact,
    pub(crate) company: Option<String>,
}

impl ContactDraft {
    /// Normalises the numbers with `normalize` (the CRM's rule, see [`crm::Crm::normalize`]),
    /// checks the e-mails and the contact, and drops duplicate numbers and e-mails.
    pub(crate) fn check(
        self,
        normalize: &dyn Fn(&str) -> Result<Option<Phone>, FieldError>,
    ) -> Result<CheckedContact, SkippedRow> {
        let line = self.line;
        let mut phones: Vec<Phone> = Vec::with_capacity(self.phones.len());
        for FieldValue { origin, value } in &self.phones {
            match normalize(value) {
                Ok(Some(phone)) => {
                    if !phones.iter().any(|p| p.e164 == phone.e164) {
                        phones.push(phone);
                    }
                }
                // A withheld-number word ("unknown", "private") in a contact list is no number.
                Ok(None) => {
                    return Err(SkippedRow::new(
                        line,
                        format!("{origin}: {value:?} is not a phone number"),
                    ))
                }
                Err(e) => {
                    return Err(SkippedRow::new(
                        line,
                        format!("{origin}: {value:?} {}", e.message),
                    ))
                }
            }
        }
        let mut emails: Vec<String> = Vec::with_capacity(self.emails.len());
        for FieldValue { origin, value } in &self.emails {
            if let Err(e) = domain::validation::email("email", value) {
                return Err(SkippedRow::new(
                    line,
                    format!("{origin}: {value:?} {}", e.message),
                ));
            }
            if !emails.iter().any(|e| e.eq_ignore_ascii_case(value)) {
                emails.push(value.clone());
            }
        }
        if let Some(company) = &self.company {
            let probe = NewCompany {
                name: company.clone(),
                ..Default::default()
            };
            if let Err(e) = probe.validate() {
                return Err(SkippedRow::new(line, format!("company {}", e.message)));
            }
        }
        let contact = NewContact {
            name: self.name,
            phones,
            emails,
            ..Default::default()
        };
        contact
            .validate()
            .map_err(|e| SkippedRow::new(line, e.to_string()))?;
        Ok(CheckedContact {
            line,
            contact,
            company: self.company,
        })
    }
}

/// A file being read: each call gives the next contact or skipped row, `None` at the end.
pub(crate) trait DraftSource {
    fn next_row(&mut self) -> Result<Option<Result<ContactDraft, SkippedRow>>, ImportError>;
}

/// Every row of a source; for tests and small files (the import itself streams).
#[cfg(test)]
pub(crate) fn read_all(
    source: &mut dyn DraftSource,
) -> Result<Vec<Result<ContactDraft, SkippedRow>>, ImportError> {
    let mut rows = Vec::new();
    while let Some(row) = source.next_row()? {
        rows.push(row);
    }
    Ok(rows)
}

/// Reads and checks up to `limit` importable contacts; skipped rows go to `skipped`.
/// Fewer than `limit` contacts means the file is done.
fn read_chunk(
    source: &mut dyn DraftSource,
    normalize: &dyn Fn(&str) -> Result<Option<Phone>, FieldError>,
    limit: usize,
    skipped: &mut Vec<SkippedRow>,
) -> Result<Vec<CheckedContact>, ImportError> {
    let mut chunk = Vec::with_capacity(limit);
    while chunk.len() < limit {
        match source.next_row()? {
            None => break,
            Some(Err(skip)) => skipped.push(skip),
            Some(Ok(draft)) => match draft.check(normalize) {
                Ok(contact) => chunk.push(contact),
                Err(skip) => skipped.push(skip),
            },
        }
    }
    Ok(chunk)
}

/// Imports the contacts of `path` (format from `format`, else the extension, else the
/// content). Bad rows are skipped and listed in the report; the rest is imported.
pub(crate) async fn import_contacts(
    crm: &crm::Crm,
    path: &Path,
    format: Option<Format>,
    progress: bool,
) -> anyhow::Result<ImportReport> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let bar = progress_bar(size, progress);
    let mut reader = BufReader::with_capacity(256 * 1024, bar.wrap_read(file));
    let format = match format.or_else(|| Format::from_extension(path)) {
        Some(format) => format,
        None => Format::sniff(reader.fill_buf()?),
    };
    let mut source: Box<dyn DraftSource + Send> = match format {
        Format::Csv => Box::new(csv_file::CsvRows::new(reader)?),
        Format::Vcard => Box::new(vcard::VcardCards::new(reader)),
    };
    let normalize = |raw: &str| crm.normalize("phone", raw);

    // Reading is synchronous: this is a one-shot command, and the store's driver does its work
    // on its own thread, so nothing else on this runtime waits for the parser.
    let mut report = ImportReport::default();
    let mut companies = CompanyCache::default();
    loop {
        let chunk = read_chunk(&mut *source, &normalize, CHUNK, &mut report.skipped)?;
        let done = chunk.len() < CHUNK;
        if let Some(first_line) = chunk.first().map(|c| c.line) {
            let written = write_chunk(crm, &mut companies, chunk)
                .await
                .with_context(|| {
                    format!(
                        "writing the rows from line {first_line} on; the {} contacts of the \
                         rows before were imported",
                        report.imported
                    )
                })?;
            report.imported += written;
            bar.set_message(format!("{} contacts", report.imported));
        }
        if done {
            break;
        }
    }
    bar.finish_and_clear();
    report.companies_created = companies.created;
    tracing::info!(
        imported = report.imported,
        skipped = report.skipped.len(),
        companies_created = report.companies_created,
        "import finished"
    );
    Ok(report)
}

async fn write_chunk(
    crm: &crm::Crm,
    companies: &mut CompanyCache,
    chunk: Vec<CheckedContact>,
) -> anyhow::Result<u64> {
    let mut contacts = Vec::with_capacity(chunk.len());
    for checked in chunk {
        let mut contact = checked.contact;
        if let Some(name) = &checked.company {
            contact.company_id = Some(companies.resolve(crm, name).await?);
        }
        contacts.push(contact);
    }
    Ok(crm.create_contacts(contacts).await?)
}

/// Companies by name, so each is looked up or created once per import.
#[derive(Default)]
struct CompanyCache {
    /// Lowercased name → id; the store matches names case-insensitively too.
    ids: HashMap<String, CompanyId>,
    created: u64,
}

impl CompanyCache {
    async fn resolve(&mut self, crm: &crm::Crm, name: &str) -> anyhow::Result<CompanyId> {
        let key = name.to_lowercase();
        if let Some(id) = self.ids.get(&key) {
            return Ok(*id);
        }
        let id = match crm.store().find_company_by_name(name).await? {
            Some(company) => company.id,
            None => {
                self.created += 1;
                crm.create_company(NewCompany {
                    name: name.to_string(),
                    ..Default::default()
                })
                .await?
                .id
            }
        };
        self.ids.insert(key, id);
        Ok(id)
    }
}

fn progress_bar(size: u64, visible: bool) -> indicatif::ProgressBar {
    if !visible {
        return indicatif::ProgressBar::hidden();
    }
    // Drawn on stderr, and only when it is a terminal: logs and pipes stay clean.
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(size),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

// ---- shared text helpers ----

/// Field bytes as text: UTF-8 when valid, else Windows-1252, which is what German, Italian
/// and Polish Excel and Outlook write when they do not write UTF-8 (and a superset of
/// Latin-1 for the letters those languages use).
fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

fn windows_1252(b: u8) -> char {
    // 0x80..=0x9F is where Windows-1252 differs from Latin-1; undefined slots stay C1 controls.
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// Trims and collapses runs of whitespace (names from exports carry stray spaces and tabs).
fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The numbers in one cell: exports put several in one field, separated by `;`, `,`, `|`,
/// line breaks, or ` ::: ` (Google Contacts). `/` is not a separator: `030 / 123456` is one.
fn split_numbers(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(":::")
        .flat_map(|part| part.split([';', ',', '|', '\n', '\r']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The e-mail addresses in one cell; also accepts `mailto:` and `Name <address>` forms.
fn split_emails(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(":::")
        .flat_map(|part| part.split([';', ',', '|', '\n', '\r']))
        .map(|s| {
            let s = s.trim();
            let s = match (s.rfind('<'), s.rfind('>')) {
                (Some(open), Some(close)) if open < close => &s[open + 1..close],
                _ => s,
            };
            let s = s.trim();
            match s.get(..7) {
                Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => &s[7..],
                _ => s,
            }
        })
        .filter(|s| !s.is_empty())
}

pub(crate) mod csv_file {
    //! CSV files with a header row. Columns are recognised by name, case-insensitively, in
    //! English, German, Italian, Polish and Russian, including the exports of Outlook, Google
    //! Contacts, HubSpot and Bitrix24. Unrecognised columns are ignored (and logged once).

    use super::*;

    /// What a column holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum ColumnRole {
        FullName,
        FirstName,
        MiddleName,
        LastName,
        Phone,
        Email,
        Company,
    }

    /// A header reduced to lowercase letters and digits: `E-Mail-Adresse` → `emailadresse`,
    /// `Phone 1 - Value` → `phone1value`.
    fn normalise_header(header: &str) -> String {
        header
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    }

    const FULL_NAMES: &[&str] = &[
        "name",
        "fullname",
        "displayname",
        "contactname",
        "contact",
        "contactperson",
        "kontakt",
        "kontaktname",
        "kontaktperson",
        "ansprechpartner",
        "vollständigername",
        "nomecompleto",
        "nominativo",
        "nomeecognome",
        "imięinazwisko",
        "imieinazwisko",
        "фио",
    ];
    const FIRST_NAMES: &[&str] = &[
        "firstname",
        "first",
        "givenname",
        "forename",
        "vorname",
        "nome",
        "imię",
        "imie",
        "имя",
    ];
    const MIDDLE_NAMES: &[&str] = &[
        "middlename",
        "secondname",
        "additionalname",
        "zweitervorname",
        "отчество",
    ];
    const LAST_NAMES: &[&str] = &[
        "lastname",
        "last",
        "surname",
        "familyname",
        "nachname",
        "familienname",
        "cognome",
        "nazwisko",
        "фамилия",
    ];

    /// What a header names, or `None` for a column the importer does not read.
    pub(crate) fn classify(header: &str) -> Option<ColumnRole> {
        let h = normalise_header(header);
        let has = |word: &str| h.contains(word);
        // Columns that describe another column ("Phone 1 - Type") or hold something else
        // that happens to contain a keyword ("Company Domain Name", "Company ID", "Fax").
        let describes_other = h.is_empty()
            || has("type")
            || has("label")
            || h.ends_with("typ")
            || has("fax")
            || has("title")
            || has("position")
            || has("domain")
            || has("website")
            || has("url")
            || (has("address") && !has("email"))
            || (has("adresse") && !has("mail"))
            || h.ends_with("id");
        if describes_other {
            return None;
        }
        let phone = has("phone")
            || has("telefon")
            || has("mobil")
            || has("handy")
            || has("cell")
            || has("rufnummer")
            || has("komórk")
            || has("komork")
            || (h.starts_with("tel") && !h.starts_with("tele"))
            || has("телефон")
            || has("мобильн");
        if phone {
            return Some(ColumnRole::Phone);
        }
        let email = has("email")
            || (h.starts_with("mail") && !h.starts_with("mailing"))
            || has("postaelettronica");
        if email {
            return Some(ColumnRole::Email);
        }
        let is = |set: &[&str]| set.contains(&h.as_str());
        if is(FULL_NAMES) {
            return Some(ColumnRole::FullName);
        }
        if is(FIRST_NAMES) {
            return Some(ColumnRole::FirstName);
        }
        if is(MIDDLE_NAMES) {
            return Some(ColumnRole::MiddleName);
        }
        if is(LAST_NAMES) {
            return Some(ColumnRole::LastName);
        }
        let company = has("company")
            || has("firma")
            || has("firmen")
            || has("organization")
            || has("organisation")
            || has("unternehmen")
            || has("azienda")
            || has("società")
            || has("societa")
            || has("ragionesociale")
            || h == "account"
            || h == "accountname"
            || has("компания");
        company.then_some(ColumnRole::Company)
    }

    /// Which columns hold what, from the header row.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct Columns {
        headers: Vec<String>,
        full_name: Vec<usize>,
        first_name: Vec<usize>,
        middle_name: Vec<usize>,
        last_name: Vec<usize>,
        phones: Vec<usize>,
        emails: Vec<usize>,
        company: Vec<usize>,
    }

    impl Columns {
        pub(crate) fn from_headers(headers: Vec<String>) -> Result<Columns, ImportError> {
            let mut columns = Columns {
                headers: Vec::new(),
                full_name: Vec::new(),
                first_name: Vec::new(),
                middle_name: Vec::new(),
                last_name: Vec::new(),
                phones: Vec::new(),
                emails: Vec::new(),
                company: Vec::new(),
            };
            for (i, header) in headers.iter().enumerate() {
                let list = match classify(header) {
                    Some(ColumnRole::FullName) => &mut columns.full_name,
                    Some(ColumnRole::FirstName) => &mut columns.first_name,
                    Some(ColumnRole::MiddleName) => &mut columns.middle_name,
                    Some(ColumnRole::LastName) => &mut columns.last_name,
                    Some(ColumnRole::Phone) => &mut columns.phones,
                    Some(ColumnRole::Email) => &mut columns.emails,
                    Some(ColumnRole::Company) => &mut columns.company,
                    None => continue,
                };
                list.push(i);
            }
            // Bitrix24 exports "Name", "Second name", "Last name": there "Name" is the first
            // name. A file with a last-name column but no first-name column means the same.
            if columns.first_name.is_empty() && !columns.last_name.is_empty() {
                columns.first_name = std::mem::take(&mut columns.full_name);
            }
            columns.headers = headers;
            if columns.full_name.is_empty()
                && columns.first_name.is_empty()
                && columns.last_name.is_empty()
            {
                return Err(ImportError::NoNameColumn {
                    headers: columns.headers,
                });
            }
            if columns.phones.is_empty() && columns.emails.is_empty() {
                return Err(ImportError::NoPhoneOrEmailColumn {
                    headers: columns.headers,
                });
            }
            Ok(columns)
        }

        fn names(&self, indices: &[usize]) -> String {
            let names: Vec<String> = indices
                .iter()
                .map(|&i| format!("{:?}", self.headers[i]))
                .collect();
            names.join(", ")
        }

        fn describe(&self, what: &str, indices: &[usize]) -> String {
            let plural = if indices.len() == 1 {
                "column"
            } else {
                "columns"
            };
            let verb = if indices.len() == 1 { "is" } else { "are" };
            format!("{what}: {plural} {} {verb} empty", self.names(indices))
        }

        /// One data row (`cells` decoded) as a draft, or the reason it is skipped.
        pub(crate) fn draft(
            &self,
            line: u64,
            cells: &[String],
        ) -> Result<ContactDraft, SkippedRow> {
            let cell = |i: usize| cells.get(i).map_or("", |s| s.trim());
            let first_non_empty = |indices: &[usize]| {
                indices
                    .iter()
                    .map(|&i| cell(i))
                    .find(|s| !s.is_empty())
                    .map(collapse_spaces)
            };
            let name = first_non_empty(&self.full_name).unwrap_or_else(|| {
                let parts = [&self.first_name, &self.middle_name, &self.last_name]
                    .into_iter()
                    .filter_map(|indices| first_non_empty(indices));
                parts.collect::<Vec<_>>().join(" ")
            });
            if name.is_empty() {
                let mut name_columns = self.full_name.clone();
                name_columns.extend(&self.first_name);
                name_columns.extend(&self.last_name);
                return Err(SkippedRow::new(
                    line,
                    self.describe("no name", &name_columns),
                ));
            }
            let values = |indices: &[usize], split: fn(&str) -> Vec<&str>| {
                let mut values = Vec::new();
                for &i in indices {
                    for value in split(cell(i)) {
                        values.push(FieldValue {
                            origin: format!("column {:?}", self.headers[i]),
                            value: value.to_string(),
                        });
                    }
                }
                values
            };
            let phones = values(&self.phones, |c| split_numbers(c).collect());
            let emails = values(&self.emails, |c| split_emails(c).collect());
            if phones.is_empty() && emails.is_empty() {
                let mut contact_columns = self.phones.clone();
                contact_columns.extend(&self.emails);
                return Err(SkippedRow::new(
                    line,
                    self.describe("no phone number or e-mail", &contact_columns),
                ));
            }
            Ok(ContactDraft {
                line,
                name,
                phones,
                emails,
                company: first_non_empty(&self.company),
            })
        }

        /// Which headers feed what, for the log.
        fn summary(&self) -> String {
            let mut name_columns = self.full_name.clone();
            name_columns.extend(&self.first_name);
            name_columns.extend(&self.middle_name);
            name_columns.extend(&self.last_name);
            format!(
                "name from {}; phones from {}; e-mails from {}; company from {}",
                self.names(&name_columns),
                self.names(&self.phones),
                self.names(&self.emails),
                self.names(&self.company)
            )
        }
    }

    /// The separator of a CSV file, guessed from its header line: the most frequent of `,`,
    /// `;` and tab outside quotes. German and Italian Excel write `;`, because `,` is their
    /// decimal mark.
    pub(crate) fn sniff_delimiter(start: &[u8]) -> u8 {
        let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
        let mut quoted = false;
        for &b in start {
            match b {
                b'"' => quoted = !quoted,
                b'\n' | b'\r' if !quoted => break,
                _ if !quoted => {
                    if let Some(entry) = counts.iter_mut().find(|(d, _)| *d == b) {
                        entry.1 += 1;
                    }
                }
                _ => {}
            }
        }
        // On a tie (a one-column file) the comma wins: it is the standard.
        counts
            .iter()
            .fold(
                (b',', 0),
                |best, &(d, n)| if n > best.1 { (d, n) } else { best },
            )
            .0
    }

    /// A CSV file read row by row.
    pub(crate) struct CsvRows<R: Read> {
        reader: csv::Reader<R>,
        columns: Columns,
        record: csv::ByteRecord,
        cells: Vec<String>,
    }

    impl<R: BufRead> CsvRows<BomStripped<R>> {
        /// Reads the header row; fails when it names no name column or no phone/e-mail column.
        pub(crate) fn new(mut input: R) -> Result<Self, ImportError> {
            let start = input.fill_buf()?;
            let bom = start.starts_with(UTF8_BOM);
            let delimiter = sniff_delimiter(start.strip_prefix(UTF8_BOM).unwrap_or(start));
            let input = BomStripped::new(input, bom);
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .flexible(true)
                .has_headers(true)
                .from_reader(input);
            let headers: Vec<String> = reader
                .byte_headers()?
                .iter()
                .map(|h| decode_text(h).trim().to_string())
                .collect();
            if headers.iter().all(String::is_empty) {
                return Err(ImportError::Empty);
            }
            let columns = Columns::from_headers(headers)?;
            tracing::info!(columns = %columns.summary(), "reading CSV");
            Ok(CsvRows {
                reader,
                columns,
                record: csv::ByteRecord::new(),
                cells: Vec::new(),
            })
        }
    }

    impl<R: BufRead> DraftSource for CsvRows<BomStripped<R>> {
        fn next_row(&mut self) -> Result<Option<Result<ContactDraft, SkippedRow>>, ImportError> {
            loop {
                if !self.reader.read_byte_record(&mut self.record)? {
                    return Ok(None);
                }
                self.cells.clear();
                self.cells.extend(self.record.iter().map(decode_text));
                // A row of empty cells (a spreadsheet's trailing `;;;`) is not a contact.
                if self.cells.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                // The csv crate's own line count is off by one per CRLF line break (Excel's),
                // so the line is counted here from the record's byte offset.
                let byte = self.record.position().map_or(0, |p| p.byte());
                let line = self.reader.get_mut().line_at(byte);
                return Ok(Some(self.columns.draft(line, &self.cells)));
            }
        }
    }

    /// The input without its UTF-8 byte order mark (Excel writes one before the header), and
    /// where its line breaks are, so a row can be reported by its line number.
    pub(crate) struct BomStripped<R> {
        inner: R,
        bom: bool,
        /// Bytes read so far (after the mark).
        offset: u64,
        /// Offsets of `\n`s read but not yet passed by [`BomStripped::line_at`].
        newlines: std::collections::VecDeque<u64>,
        /// Line breaks before the last offset asked for.
        lines_passed: u64,
    }

    impl<R> BomStripped<R> {
        fn new(inner: R, bom: bool) -> Self {
            BomStripped {
                inner,
                bom,
                offset: 0,
                newlines: std::collections::VecDeque::new(),
                lines_passed: 0,
            }
        }

        /// The 1-based line of a record the csv crate says starts at `byte`; offsets must be
        /// asked in increasing order. After a CRLF the crate puts the start on the `\n`, so a
        /// line break at `byte` itself belongs to the line before.
        fn line_at(&mut self, byte: u64) -> u64 {
            while self.newlines.front().is_some_and(|&nl| nl <= byte) {
                self.newlines.pop_front();
                self.lines_passed += 1;
            }
            self.lines_passed + 1
        }
    }

    impl<R: BufRead> Read for BomStripped<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.bom {
                self.inner.fill_buf()?;
                self.inner.consume(UTF8_BOM.len());
                self.bom = false;
            }
            let n = self.inner.read(buf)?;
            for (i, _) in buf[..n].iter().enumerate().filter(|(_, &b)| b == b'\n') {
                self.newlines.push_back(self.offset + i as u64);
            }
            self.offset += n as u64;
            Ok(n)
        }
    }
}

pub(crate) mod vcard {
    //! vCard files (2.1, 3.0, 4.0; RFC 6350): several cards per file, folded lines,
    //! quoted-printable values and Latin-1 charsets of 2.1 exports, `tel:` URIs of 4.0.
    //! Read: `FN` (else `N`), every `TEL`, every `EMAIL`, the first `ORG`.

    use super::*;

    /// One property line, unfolded: `item1.TEL;TYPE=cell:+49 151 ...`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct Property {
        /// Uppercase, without group: `TEL`.
        pub(crate) name: String,
        /// The value, decoded (quoted-printable, charset) but not unescaped.
        pub(crate) value: String,
    }

    /// Parses one unfolded content line; `None` for lines that are not properties.
    pub(crate) fn parse_property(line: &[u8]) -> Option<Property> {
        // The value starts after the first ':' that is not inside a quoted parameter value.
        let mut quoted = false;
        let colon = line.iter().position(|&b| {
            if b == b'"' {
                quoted = !quoted;
            }
            b == b':' && !quoted
        })?;
        let head = decode_text(&line[..colon]);
        let raw_value = &line[colon + 1..];
        let mut parts = head.split(';');
        let name = parts.next()?.trim();
        // A group prefix (`item1.TEL`, Apple) is not part of the name.
        let name = name.rsplit('.').next().unwrap_or(name).to_ascii_uppercase();
        if name.is_empty() {
            return None;
        }
        let mut quoted_printable = false;
        let mut latin = false;
        for param in parts {
            let (key, value) = param.split_once('=').unwrap_or(("ENCODING", param));
            let value = value.trim_matches('"');
            if key.eq_ignore_ascii_case("ENCODING")
                && value.eq_ignore_ascii_case("QUOTED-PRINTABLE")
            {
                quoted_printable = true;
            }
            if key.eq_ignore_ascii_case("CHARSET") && !value.eq_ignore_ascii_case("UTF-8") {
                latin = true;
            }
        }
        let bytes = if quoted_printable {
            decode_quoted_printable(raw_value)
        } else {
            raw_value.to_vec()
        };
        let value = if latin && std::str::from_utf8(&bytes).is_err() {
            bytes.iter().map(|&b| windows_1252(b)).collect()
        } else {
            decode_text(&bytes)
        };
        Some(Property { name, value })
    }

    /// `=C3=BC` → bytes; a malformed escape is kept as it is.
    pub(crate) fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
        let hex = |b: u8| char::from(b).to_digit(16);
        let mut out = Vec::with_capacity(input.len());
        let mut i = 0;
        while i < input.len() {
            if input[i] == b'=' {
                let pair = (input.get(i + 1).copied(), input.get(i + 2).copied());
                if let (Some(h), Some(l)) = pair {
                    if let (Some(h), Some(l)) = (hex(h), hex(l)) {
                        // Two hex digits are at most 0xFF: the cast cannot truncate.
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                }
            }
            out.push(input[i]);
            i += 1;
        }
        out
    }

    /// Text values escape `\,` `\;` `\\` and newlines (`\n`); newlines become spaces here.
    pub(crate) fn unescape(value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n' | 'N') => out.push(' '),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Splits a structured value (`N`, `ORG`) at `;` not escaped by `\`.
    pub(crate) fn components(value: &str) -> Vec<String> {
        let mut parts = vec![String::new()];
        let mut escaped = false;
        for c in value.chars() {
            let current = parts.last_mut().expect("parts is never empty");
            if escaped {
                current.push('\\');
                current.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == ';' {
                parts.push(String::new());
            } else {
                current.push(c);
            }
        }
        parts
            .iter()
            .map(|p| collapse_spaces(&unescape(p)))
            .collect()
    }

    /// A card being read.
    #[derive(Default)]
    struct Card {
        line: u64,
        formatted_name: Option<String>,
        structured_name: Option<String>,
        phones: Vec<FieldValue>,
        emails: Vec<FieldValue>,
        company: Option<String>,
    }

    impl Card {
        fn add(&mut self, property: Property) {
            match property.name.as_str() {
                "FN" => {
                    let name = collapse_spaces(&unescape(&property.value));
                    if !name.is_empty() && self.formatted_name.is_none() {
                        self.formatted_name = Some(name);
                    }
                }
                "N" => {
                    // Family; Given; Additional; Prefixes; Suffixes → "Given Additional Family".
                    let parts = components(&property.value);
                    let get = |i: usize| parts.get(i).map_or("", String::as_str);
                    let name = [get(1), get(2), get(0)]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ");
                    if !name.is_empty() && self.structured_name.is_none() {
                        self.structured_name = Some(name);
                    }
                }
                "TEL" => {
                    let value = property.value.trim();
                    // vCard 4 writes `tel:+49-30-1234;ext=5`: keep the number for display.
                    let value = match value.get(..4) {
                        Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => {
                            value[4..].split(';').next().unwrap_or("")
                        }
                        _ => value,
                    };
                    let value = unescape(value.trim());
                    if !value.is_empty() {
                        self.phones.push(FieldValue {
                            origin: "TEL".into(),
                            value,
                        });
                    }
                }
                "EMAIL" => {
                    let value = unescape(&property.value);
                    for email in split_emails(&value) {
                        self.emails.push(FieldValue {
                            origin: "EMAIL".into(),
                            value: email.to_string(),
                        });
                    }
                }
                "ORG" => {
                    let organisation = components(&property.value);
                    if let Some(name) = organisation.into_iter().find(|p| !p.is_empty()) {
                        self.company.get_or_insert(name);
                    }
                }
                _ => {}
            }
        }

        fn finish(self) -> Result<ContactDraft, SkippedRow> {
            let Some(name) = self.formatted_name.or(self.structured_name) else {
                return Err(SkippedRow::new(
                    self.line,
                    "no name: the card has no FN or N",
                ));
            };
            if self.phones.is_empty() && self.emails.is_empty() {
                return Err(SkippedRow::new(
                    self.line,
                    "no phone number or e-mail: the card has no TEL or EMAIL",
                ));
            }
            Ok(ContactDraft {
                line: self.line,
                name,
                phones: self.phones,
                emails: self.emails,
                company: self.company,
            })
        }
    }

    /// A vCard file read card by card.
    pub(crate) struct VcardCards<R> {
        input: R,
        /// Physical lines read so far.
        line: u64,
        /// The next physical line, read ahead to see whether it continues the current one.
        lookahead: Option<Vec<u8>>,
        card: Option<Card>,
        buffer: Vec<u8>,
    }

    impl<R: BufRead> VcardCards<R> {
        pub(crate) fn new(input: R) -> Self {
            VcardCards {
                input,
                line: 0,
                lookahead: None,
                card: None,
                buffer: Vec::new(),
            }
        }

        fn physical_line(&mut self) -> Result<Option<Vec<u8>>, ImportError> {
            if let Some(line) = self.lookahead.take() {
                return Ok(Some(line));
            }
            self.buffer.clear();
            if self.input.read_until(b'\n', &mut self.buffer)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            let mut line = std::mem::take(&mut self.buffer);
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            if self.line == 1 && line.starts_with(UTF8_BOM) {
                line.drain(..UTF8_BOM.len());
            }
            Ok(Some(line))
        }

        /// The next logical line and the number of its first physical line.
        fn logical_line(&mut self) -> Result<Option<(u64, Vec<u8>)>, ImportError> {
            let Some(mut line) = self.physical_line()? else {
                return Ok(None);
            };
            let start = self.line;
            loop {
                // Quoted-printable (vCard 2.1) continues a line ending in a soft break `=`.
                let soft_break = line.ends_with(b"=") && is_quoted_printable(&line);
                let Some(next) = self.physical_line()? else {
                    break;
                };
                if matches!(next.first(), Some(b' ' | b'\t')) {
                    // RFC 6350 §3.2 folding: CRLF plus one space or tab is removed.
                    line.extend_from_slice(&next[1..]);
                } else if soft_break {
                    line.pop();
                    line.extend_from_slice(&next);
                } else {
                    self.lookahead = Some(next);
                    break;
                }
            }
            Ok(Some((start, line)))
        }
    }

    fn is_quoted_printable(line: &[u8]) -> bool {
        let head_end = line.iter().position(|&b| b == b':').unwrap_or(line.len());
        let head = String::from_utf8_lossy(&line[..head_end]).to_ascii_uppercase();
        head.contains("QUOTED-PRINTABLE")
    }

    impl<R: BufRead> DraftSource for VcardCards<R> {
        fn next_row(&mut self) -> Result<Option<Result<ContactDraft, SkippedRow>>, ImportError> {
            while let Some((line_no, line)) = self.logical_line()? {
                let Some(property) = parse_property(&line) else {
                    continue;
                };
                let value_is = |s: &str| property.value.trim().eq_ignore_ascii_case(s);
                match property.name.as_str() {
                    "BEGIN" if value_is("VCARD") => {
                        let unclosed = self.card.replace(Card {
                            line: line_no,
                            ..Default::default()
                        });
                        if let Some(card) = unclosed {
                            return Ok(Some(Err(SkippedRow::new(
                                card.line,
                                "the card has no END:VCARD before the next BEGIN:VCARD",
                            ))));
                        }
                    }
                    "END" if value_is("VCARD") => {
                        if let Some(card) = self.card.take() {
                            return Ok(Some(card.finish()));
                        }
                    }
                    _ => {
                        if let Some(card) = &mut self.card {
                            card.add(property);
                        }
                    }
                }
            }
            Ok(self.card.take().map(|card| {
                Err(SkippedRow::new(
                    card.line,
                    "the card has no END:VCARD (the file ends inside it)",
                ))
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::csv_file::{classify, sniff_delimiter, ColumnRole, CsvRows};
    use super::vcard::VcardCards;
    use super::*;

    fn de(raw: &str) -> Result<Option<Phone>, FieldError> {
        // The CRM's rule (`Crm::normalize`) with DE as the default region.
        let region: phone::Region = "DE".parse().expect("DE");
        match phone::parse(raw, region) {
            phone::PhoneInput::NoNumber => Ok(None),
            phone::PhoneInput::Number(n) => Ok(Some(Phone {
                e164: n.e164().to_string(),
                raw: raw.trim().to_string(),
            })),
            phone::PhoneInput::Invalid(why) => Err(FieldError::new("phone", why.to_string())),
        }
    }

    fn csv(text: &str) -> Vec<Result<ContactDraft, SkippedRow>> {
        let mut rows = CsvRows::new(text.as_bytes()).expect("header");
        read_all(&mut rows).expect("rows")
    }

    fn csv_checked(text: &str) -> Vec<Result<CheckedContact, SkippedRow>> {
        csv(text)
            .into_iter()
            .map(|row| row.and_then(|draft| draft.check(&de)))
            .collect()
    }

    fn vcf(text: &str) -> Vec<Result<CheckedContact, SkippedRow>> {
        let mut cards = VcardCards::new(text.as_bytes());
        read_all(&mut cards)
            .expect("cards")
            .into_iter()
            .map(|row| row.and_then(|draft| draft.check(&de)))
            .collect()
    }

    fn e164s(contact: &CheckedContact) -> Vec<&str> {
        contact
            .contact
            .phones
            .iter()
            .map(|p| p.e164.as_str())
            .collect()
    }

    #[test]
    fn headers_are_recognised_in_several_languages_and_exports() {
        use ColumnRole::*;
        let table: &[(&str, Option<ColumnRole>)] = &[
            ("Name", Some(FullName)),
            ("full name", Some(FullName)),
            ("Display Name", Some(FullName)),
            ("Ansprechpartner", Some(FullName)),
            ("Imię i nazwisko", Some(FullName)),
            ("First Name", Some(FirstName)),
            ("Vorname", Some(FirstName)),
            ("Given Name", Some(FirstName)),
            ("Nome", Some(FirstName)),
            ("Imię", Some(FirstName)),
            ("Second name", Some(MiddleName)),
            ("Middle Name", Some(MiddleName)),
            ("Last Name", Some(LastName)),
            ("Nachname", Some(LastName)),
            ("Family Name", Some(LastName)),
            ("Cognome", Some(LastName)),
            ("Nazwisko", Some(LastName)),
            ("Phone", Some(Phone)),
            ("phones", Some(Phone)),
            ("Mobile", Some(Phone)),
            ("Work Phone", Some(Phone)),
            ("Mobile Phone Number", Some(Phone)),
            ("Phone 1 - Value", Some(Phone)),
            ("Telefon", Some(Phone)),
            ("Telefon geschäftlich", Some(Phone)),
            ("Mobiltelefon", Some(Phone)),
            ("Handy", Some(Phone)),
            ("Tel.", Some(Phone)),
            ("Cellulare", Some(Phone)),
            ("Telefono", Some(Phone)),
            ("Telefon komórkowy", Some(Phone)),
            ("Company Phone", Some(Phone)),
            ("Email", Some(Email)),
            ("E-Mail", Some(Email)),
            ("emails", Some(Email)),
            ("E-Mail-Adresse", Some(Email)),
            ("Work E-mail", Some(Email)),
            ("E-mail 1 - Value", Some(Email)),
            ("Company", Some(Company)),
            ("Company Name", Some(Company)),
            ("Associated Company", Some(Company)),
            ("Firma", Some(Company)),
            ("Organization 1 - Name", Some(Company)),
            ("Azienda", Some(Company)),
            ("Phone 1 - Type", None),
            ("Phone 1 - Label", None),
            ("Fax", None),
            ("Business Fax", None),
            ("Company Domain Name", None),
            ("Company ID", None),
            ("Organization 1 - Title", None),
            ("Mailing Address", None),
            ("Telegram", None),
            ("Notes", None),
            ("", None),
        ];
        for (header, expected) in table {
            assert_eq!(classify(header), *expected, "{header:?}");
        }
    }

    #[test]
    fn delimiter_is_guessed_from_the_header_line() {
        let table: &[(&str, u8)] = &[
            ("Name,Phone,Email\n", b','),
            ("Vorname;Nachname;Telefon\n", b';'),
            ("Name\tPhone\n", b'\t'),
            ("\"Name, full\";Phone\n", b';'),
            ("Name\n", b','),
            ("Name;Phone\nA,B,C,D,E\n", b';'),
        ];
        for (text, expected) in table {
            assert_eq!(
                sniff_delimiter(text.as_bytes()),
                *expected,
                "{text:?}: got {:?}",
                char::from(sniff_delimiter(text.as_bytes()))
            );
        }
    }

    #[test]
    fn csv_rows_become_contacts_or_reasons() {
        let rows = csv_checked(
            "Name,Phone,Mobile,Email,Company\n\
             Anna Schmidt,030 1234567,+49 151 23456789,anna@example.com,Müller GmbH\n\
             ,030 1234568,,,\n\
             Ben Weber,,,,\n\
             Clara Wolf,12ab,,,\n\
             David Koch,030 1234569,,nope,\n\
             Eva Braun,\"030 1234570; 0151 23456780, 030 1234570\",,,\n\
             Felix Lang,,,felix@example.com,\n",
        );
        let ok = |i: usize| rows[i].as_ref().expect("imported");
        let skip = |i: usize| rows[i].as_ref().expect_err("skipped");
        assert_eq!(rows.len(), 7);
        assert_eq!(ok(0).contact.name, "Anna Schmidt");
        assert_eq!(e164s(ok(0)), ["+49301234567", "+4915123456789"]);
        assert_eq!(ok(0).contact.phones[0].raw, "030 1234567");
        assert_eq!(ok(0).contact.emails, ["anna@example.com"]);
        assert_eq!(ok(0).company.as_deref(), Some("Müller GmbH"));
        assert_eq!(ok(0).line, 2);
        assert_eq!(
            *skip(1),
            SkippedRow::new(3, "no name: column \"Name\" is empty")
        );
        assert_eq!(
            *skip(2),
            SkippedRow::new(
                4,
                "no phone number or e-mail: columns \"Phone\", \"Mobile\", \"Email\" are empty"
            )
        );
        assert_eq!(skip(3).line, 5);
        assert!(
            skip(3).reason.starts_with("column \"Phone\": \"12ab\" "),
            "{}",
            skip(3).reason
        );
        assert_eq!(
            *skip(4),
            SkippedRow::new(6, "column \"Email\": \"nope\" is not an e-mail address")
        );
        // Several numbers in one cell; the repeated one is kept once.
        assert_eq!(e164s(ok(5)), ["+49301234570", "+4915123456780"]);
        assert_eq!(ok(6).contact.emails, ["felix@example.com"]);
        assert!(ok(6).contact.phones.is_empty());
    }

    #[test]
    fn german_excel_export_with_semicolons_bom_and_latin1() {
        // "Jürgen Groß" and "Bäckerei" in Windows-1252, as Excel "CSV (Trennzeichen-getrennt)".
        let mut bytes = b"Vorname;Nachname;Telefon;Handy;E-Mail;Firma\r\n".to_vec();
        bytes.extend_from_slice(
            b"J\xfcrgen;Gro\xdf;089 123456;0171 2345678;jg@example.de;B\xe4ckerei M\xfcller\r\n",
        );
        bytes.extend_from_slice(b";;;;;\r\n");
        bytes.extend_from_slice(b"Maria;;;;maria@example.de;\r\n");
        let mut with_bom = UTF8_BOM.to_vec();
        with_bom.extend_from_slice(&bytes);
        for input in [bytes, with_bom] {
            let mut rows = CsvRows::new(&input[..]).expect("header");
            let rows: Vec<_> = read_all(&mut rows)
                .expect("rows")
                .into_iter()
                .map(|r| r.and_then(|d| d.check(&de)))
                .collect();
            assert_eq!(rows.len(), 2, "the empty row is not a contact");
            let first = rows[0].as_ref().expect("imported");
            assert_eq!(first.contact.name, "Jürgen Groß");
            assert_eq!(e164s(first), ["+4989123456", "+491712345678"]);
            assert_eq!(first.company.as_deref(), Some("Bäckerei Müller"));
            let second = rows[1].as_ref().expect("imported");
            assert_eq!((second.line, second.contact.name.as_str()), (4, "Maria"));
        }
    }

    #[test]
    fn bitrix24_and_hubspot_exports() {
        // Bitrix24: "Name" is the first name when a "Last name" column exists.
        let rows = csv_checked(
            "ID,Name,Second name,Last name,Work phone,Mobile phone,Work e-mail,Company\n\
             17,Piotr,Jan,Nowak,+48 22 123 45 67,+48 601 234 567,p.nowak@example.pl,Nowak Sp. z o.o.\n",
        );
        let piotr = rows[0].as_ref().expect("imported");
        assert_eq!(piotr.contact.name, "Piotr Jan Nowak");
        assert_eq!(e164s(piotr), ["+48221234567", "+48601234567"]);
        assert_eq!(piotr.company.as_deref(), Some("Nowak Sp. z o.o."));

        let rows = csv_checked(
            "Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Company Name,Company Domain Name\n\
             1,Giulia,Rossi,giulia@example.it,+39 02 1234 5678,+39 333 123 4567,Rossi S.r.l.,rossi.example\n",
        );
        let giulia = rows[0].as_ref().expect("imported");
        assert_eq!(giulia.contact.name, "Giulia Rossi");
        assert_eq!(e164s(giulia), ["+390212345678", "+393331234567"]);
        assert_eq!(giulia.company.as_deref(), Some("Rossi S.r.l."));
    }

    #[test]
    fn google_contacts_export() {
        let rows = csv_checked(
            "Name,Given Name,Family Name,E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,Organization 1 - Name\n\
             Anna Schmidt,Anna,Schmidt,* Work,anna@example.com ::: a.schmidt@example.com,Mobile,+49 151 23456789 ::: +49 30 1234567,ACME\n",
        );
        let anna = rows[0].as_ref().expect("imported");
        assert_eq!(anna.contact.name, "Anna Schmidt");
        assert_eq!(
            anna.contact.emails,
            ["anna@example.com", "a.schmidt@example.com"]
        );
        assert_eq!(e164s(anna), ["+4915123456789", "+49301234567"]);
    }

    #[test]
    fn headers_without_name_or_contact_columns_are_refused() {
        let no_name = CsvRows::new(&b"Phone,Email\n030 1234567,a@b.de\n"[..]);
        assert!(matches!(no_name, Err(ImportError::NoNameColumn { .. })));
        let no_contact = CsvRows::new(&b"Name,Company\nAnna,ACME\n"[..]);
        let Err(error) = no_contact else {
            panic!("a file without phone or e-mail columns must be refused");
        };
        assert!(matches!(error, ImportError::NoPhoneOrEmailColumn { .. }));
        assert!(
            error.to_string().contains("\"Name\", \"Company\""),
            "{error}"
        );
        assert!(matches!(CsvRows::new(&b""[..]), Err(ImportError::Empty)));
    }

    #[test]
    fn short_rows_and_quoted_cells() {
        let rows = csv_checked(
            "Name,Phone,Email\n\
             \"Schmidt, Anna\",\"030 1234567\"\n\
             \"Weber\nBen\",0151 23456789,ben@example.com,extra,cells\n",
        );
        assert_eq!(
            rows[0].as_ref().expect("short row").contact.name,
            "Schmidt, Anna"
        );
        let ben = rows[1].as_ref().expect("long row");
        assert_eq!(ben.contact.name, "Weber Ben");
        assert_eq!(ben.line, 3);
    }

    #[test]
    fn check_rejects_what_the_contact_rules_reject() {
        let draft = |phones: &[&str], company: Option<&str>| ContactDraft {
            line: 9,
            name: "Anna".into(),
            phones: phones
                .iter()
                .map(|p| FieldValue {
                    origin: "TEL".into(),
                    value: (*p).into(),
                })
                .collect(),
            emails: Vec::new(),
            company: company.map(str::to_string),
        };
        // (phones, company, expected number of phones kept or the skip reason)
        type Case<'a> = (&'a [&'a str], Option<&'a str>, Result<usize, &'a str>);
        let table: &[Case] = &[
            (&["+49 30 1234567"], None, Ok(1)),
            (&["+49 30 1234567", "030 1234567"], None, Ok(1)),
            (
                &["anonymous"],
                None,
                Err("TEL: \"anonymous\" is not a phone number"),
            ),
            (
                &["110"],
                None,
                Err("TEL: \"110\" is too short to be a phone number"),
            ),
            (
                &["+49 30 1234567"],
                Some("\u{7}"),
                Err("company must not contain control characters"),
            ),
        ];
        for (phones, company, expected) in table {
            let got = draft(phones, *company).check(&de);
            match (got, expected) {
                (Ok(c), Ok(n)) => assert_eq!(c.contact.phones.len(), *n, "{phones:?}"),
                (Err(skip), Err(reason)) => {
                    assert_eq!(skip, SkippedRow::new(9, *reason), "{phones:?}")
                }
                (got, _) => panic!("{phones:?}: unexpected {got:?}"),
            }
        }
        let many: Vec<String> = (0..21).map(|i| format!("+49 30 12345{i:02}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let skip = draft(&many, None).check(&de).expect_err("21 numbers");
        assert_eq!(skip.reason, "phones: at most 20 phone numbers");
    }

    #[test]
    fn vcards_of_every_version() {
        let rows = vcf(concat!(
            "BEGIN:VCARD\r\n",
            "VERSION:3.0\r\n",
            "FN:Anna Schmidt\r\n",
            "N:Schmidt;Anna;;;\r\n",
            "ORG:Müller GmbH;Vertrieb\r\n",
            "TEL;TYPE=WORK,VOICE:+49 30 1234567\r\n",
            "TEL;TYPE=CELL:0151 2345\r\n",
            " 6789\r\n",
            "EMAIL;TYPE=INTERNET:anna@example.com\r\n",
            "END:VCARD\r\n",
            "BEGIN:VCARD\n",
            "VERSION:4.0\n",
            "N:Rossi;Giulia;Maria;Dott.;\n",
            "TEL;VALUE=uri;TYPE=\"voice,cell\":tel:+39-333-123-4567;ext=12\n",
            "item1.EMAIL;type=pref:giulia@example.it\n",
            "END:VCARD\n",
            "BEGIN:VCARD\n",
            "VERSION:2.1\n",
            "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen\n",
            "FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:J=FCrgen M=FCller, Abt. =\n",
            "Einkauf\n",
            "TEL;CELL:0171 2345678\n",
            "END:VCARD\n",
            "BEGIN:VCARD\n",
            "VERSION:3.0\n",
            "FN:Nobody\n",
            "ORG:Example\n",
            "END:VCARD\n",
            "BEGIN:VCARD\n",
            "VERSION:3.0\n",
            "TEL:+49 30 7654321\n",
            "END:VCARD\n",
            "BEGIN:VCARD\n",
            "FN:Bad Number\n",
            "TEL:12ab\n",
            "END:VCARD\n",
            "BEGIN:VCARD\n",
            "FN:Unfinished\n",
            "TEL:+49 30 1111111\n",
        ));
        assert_eq!(rows.len(), 7);
        let anna = rows[0].as_ref().expect("3.0 card");
        assert_eq!(anna.contact.name, "Anna Schmidt");
        assert_eq!(e164s(anna), ["+49301234567", "+4915123456789"]);
        assert_eq!(anna.contact.phones[1].raw, "0151 23456789");
        assert_eq!(anna.contact.emails, ["anna@example.com"]);
        assert_eq!(anna.company.as_deref(), Some("Müller GmbH"));
        assert_eq!(anna.line, 1);

        let giulia = rows[1].as_ref().expect("4.0 card");
        assert_eq!(giulia.contact.name, "Giulia Maria Rossi");
        assert_eq!(e164s(giulia), ["+393331234567"]);
        assert_eq!(giulia.contact.phones[0].raw, "+39-333-123-4567");
        assert_eq!(giulia.contact.emails, ["giulia@example.it"]);
        assert_eq!(giulia.line, 11);

        let jurgen = rows[2].as_ref().expect("2.1 card");
        assert_eq!(jurgen.contact.name, "Jürgen Müller, Abt. Einkauf");
        assert_eq!(jurgen.line, 17);

        assert_eq!(
            *rows[3].as_ref().expect_err("no number"),
            SkippedRow::new(
                24,
                "no phone number or e-mail: the card has no TEL or EMAIL"
            )
        );
        assert_eq!(
            *rows[4].as_ref().expect_err("no name"),
            SkippedRow::new(29, "no name: the card has no FN or N")
        );
        let bad = rows[5].as_ref().expect_err("bad number");
        assert_eq!(bad.line, 33);
        assert!(bad.reason.starts_with("TEL: \"12ab\" "), "{}", bad.reason);
        assert_eq!(
            *rows[6].as_ref().expect_err("unfinished"),
            SkippedRow::new(37, "the card has no END:VCARD (the file ends inside it)")
        );
    }

    #[test]
    fn vcard_text_escapes_and_components() {
        use super::vcard::{components, decode_quoted_printable, parse_property, unescape};
        assert_eq!(
            unescape(r"Schmidt\, Anna\nBerlin\\"),
            r"Schmidt, Anna Berlin\"
        );
        assert_eq!(components(r"ACME\; Co;Sales"), ["ACME; Co", "Sales"]);
        assert_eq!(decode_quoted_printable(b"a=3Db=ZZ="), b"a=b=ZZ=");
        let p = parse_property(b"TEL;TYPE=\"a:b\":+49 30 1").expect("property");
        assert_eq!((p.name.as_str(), p.value.as_str()), ("TEL", "+49 30 1"));
        assert!(parse_property(b"no colon here").is_none());
    }

    #[test]
    fn format_from_extension_then_content() {
        assert_eq!(
            Format::from_extension(Path::new("a.CSV")),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::from_extension(Path::new("a.vcf")),
            Some(Format::Vcard)
        );
        assert_eq!(Format::from_extension(Path::new("export")), None);
        assert_eq!(
            Format::sniff(b"\xEF\xBB\xBF\r\nbegin:vcard\r\n"),
            Format::Vcard
        );
        assert_eq!(Format::sniff(b"Name,Phone\n"), Format::Csv);
    }

    #[test]
    fn windows_1252_decoding() {
        assert_eq!(decode_text(b"Gr\xfc\xdfe \x80 \x84x\x93"), "Grüße € „x“");
        assert_eq!(decode_text("Grüße".as_bytes()), "Grüße");
    }

    #[tokio::test]
    async fn importing_a_file_fills_the_store_skips_bad_rows_and_callers_are_recognised() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_sql::SqlStore::open_sqlite_file(&dir.path().join("ringbase.db"))
            .await
            .expect("store");
        let crm = crm::Crm::new(
            std::sync::Arc::new(store),
            "DE".parse().expect("region"),
            events::EventBus::default(),
        );
        let file = dir.path().join("kunden.csv");
        std::fs::write(
            &file,
            "Name;Telefon;E-Mail;Firma\r\n\
             Jürgen Groß;030 1234567;jg@example.de;Bäckerei Müller\r\n\
             ;0171 2345678;;\r\n\
             Petra Groß;+49 171 7654321;;Bäckerei Müller\r\n\
             Bad Number;12;;\r\n",
        )
        .expect("write csv");
        let report = import_contacts(&crm, &file, None, false)
            .await
            .expect("imports");
        assert_eq!(report.imported, 2);
        assert_eq!(report.companies_created, 1, "one company for both contacts");
        let lines: Vec<u64> = report.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [3, 5], "{:?}", report.skipped);

        let card = crm.lookup("+49 30 1234567").await.expect("lookup");
        assert_eq!(
            card.contact.as_ref().map(|c| c.name.as_str()),
            Some("Jürgen Groß")
        );
        assert_eq!(
            card.company.as_ref().map(|c| c.name.as_str()),
            Some("Bäckerei Müller")
        );

        // A file the importer cannot read at all writes nothing and says why.
        let headless = dir.path().join("nothing.csv");
        std::fs::write(&headless, "Foo;Bar\n1;2\n").expect("write");
        let err = import_contacts(&crm, &headless, None, false)
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("name"), "{err:#}");
    }
}
