//! `ringbase demo`: a realistic demo company to try Ringbase with before any phone is connected.
//!
//! "Nordlicht Solar GmbH" sells solar installations from Berlin: an admin, a supervisor and six
//! agents (with web passwords), four advertising sources, three lines (tracking numbers), twelve
//! customer companies with contacts in Germany, Italy and Poland, their deals, two weeks of calls
//! (answered, missed, busy, voicemail; some from unknown numbers, which become leads) and routing
//! settings (working hours, queues, an IVR menu) that `ringbase simulate` can follow.
//!
//! Everything is deterministic and the command is idempotent: users, sources, lines and
//! companies are found by their natural key before they are created, contacts by their first
//! number, and calls carry the idempotency keys `demo-call-N`, so a second run adds nothing.

use crm::{CallReport, Crm};
use domain::{
    CallOrigin, CallStatus, CompanyId, DealStage, Direction, LeadRule, LineOrigin, Money,
    NewCompany, NewContact, NewDeal, NewLine, NewUser, Role, SourceId, Timestamp, UserId,
};
use std::collections::HashMap;
use std::fmt;

/// One of the demo's people.
struct DemoUser {
    login: &'static str,
    name: &'static str,
    role: Role,
    extension: Option<&'static str>,
    mobile: Option<&'static str>,
    /// The web password, printed by the command: this is a demo.
    password: &'static str,
}

const fn user(
    login: &'static str,
    name: &'static str,
    role: Role,
    extension: Option<&'static str>,
    mobile: Option<&'static str>,
    password: &'static str,
) -> DemoUser {
    DemoUser {
        login,
        name,
        role,
        extension,
        mobile,
        password,
    }
}

const USERS: &[DemoUser] = &[
    user("admin", "Alex Admin", Role::Admin, None, None, "demo-admin"),
    user(
        "mia",
        "Mia Hoffmann",
        Role::Supervisor,
        Some("100"),
        None,
        "demo-supervisor",
    ),
    user(
        "anna",
        "Anna Schmidt",
        Role::Agent,
        Some("101"),
        Some("+49 151 10000101"),
        "demo-agent",
    ),
    user(
        "ben",
        "Ben Weber",
        Role::Agent,
        Some("102"),
        None,
        "demo-agent",
    ),
    user(
        "clara",
        "Clara Wolf",
        Role::Agent,
        Some("103"),
        None,
        "demo-agent",
    ),
    user(
        "david",
        "David Koch",
        Role::Agent,
        Some("104"),
        Some("+49 151 10000104"),
        "demo-agent",
    ),
    user(
        "eva",
        "Eva Braun",
        Role::Agent,
        Some("201"),
        None,
        "demo-agent",
    ),
    user(
        "felix",
        "Felix Lang",
        Role::Agent,
        Some("202"),
        Some("+49 151 10000202"),
        "demo-agent",
    ),
];

const SOURCES: &[&str] = &["Website", "Google Ads", "Instagram", "Flyer"];

/// Our numbers: number, name, source, which unknown callers become leads.
const LINES: &[(&str, &str, &str, LeadRule)] = &[
    ("+49 30 12345678", "Sales", "Website", LeadRule::All),
    ("+49 30 12345679", "Support", "Flyer", LeadRule::None),
    (
        "+49 800 1234567",
        "Hotline",
        "Google Ads",
        LeadRule::Incoming,
    ),
    (
        "+49 30 12345680",
        "Instagram campaign",
        "Instagram",
        LeadRule::All,
    ),
];

/// Customer companies: name, switchboard number, responsible agent's login, contacts
/// (name, phones, e-mail), and the deal (title, amount in euros, stage).
struct DemoCompany {
    name: &'static str,
    phone: &'static str,
    responsible: &'static str,
    contacts: &'static [(&'static str, &'static [&'static str], &'static str)],
    deal: (&'static str, i64, DealStage),
}

const COMPANIES: &[DemoCompany] = &[
    DemoCompany {
        name: "Bäckerei Krause",
        phone: "+49 30 40001000",
        responsible: "anna",
        contacts: &[
            (
                "Heinz Krause",
                &["+49 30 40001001", "+49 151 20000001"],
                "heinz@baeckerei-krause.example",
            ),
            (
                "Petra Krause",
                &["+49 30 40001002"],
                "petra@baeckerei-krause.example",
            ),
        ],
        deal: ("Roof 30 kWp", 4_200_000, DealStage::Open),
    },
    DemoCompany {
        name: "Autohaus Meyer",
        phone: "+49 30 40002000",
        responsible: "ben",
        contacts: &[
            (
                "Jürgen Meyer",
                &["+49 30 40002001"],
                "j.meyer@autohaus-meyer.example",
            ),
            (
                "Sabine Lorenz",
                &["+49 152 20000002"],
                "s.lorenz@autohaus-meyer.example",
            ),
            (
                "Tobias Frank",
                &["+49 30 40002003"],
                "t.frank@autohaus-meyer.example",
            ),
        ],
        deal: ("Carport with storage", 8_900_000, DealStage::Open),
    },
    DemoCompany {
        name: "Hotel am See",
        phone: "+49 331 5000100",
        responsible: "clara",
        contacts: &[
            (
                "Katrin Vogel",
                &["+49 331 5000101"],
                "vogel@hotel-am-see.example",
            ),
            (
                "Marco Roth",
                &["+49 160 20000003"],
                "roth@hotel-am-see.example",
            ),
        ],
        deal: ("Heat pump and PV", 15_500_000, DealStage::Won),
    },
    DemoCompany {
        name: "Schreinerei Holzmann",
        phone: "+49 30 40004000",
        responsible: "anna",
        contacts: &[(
            "Uwe Holzmann",
            &["+49 30 40004001", "+49 170 20000004"],
            "uwe@holzmann.example",
        )],
        deal: ("Workshop roof", 3_100_000, DealStage::Lost),
    },
    DemoCompany {
        name: "Praxis Dr. Yilmaz",
        phone: "+49 30 40005000",
        responsible: "david",
        contacts: &[
            (
                "Dr. Aylin Yilmaz",
                &["+49 30 40005001"],
                "praxis@yilmaz.example",
            ),
            ("Lena Busch", &["+49 30 40005002"], "empfang@yilmaz.example"),
        ],
        deal: ("Battery storage 20 kWh", 1_850_000, DealStage::Open),
    },
    DemoCompany {
        name: "Gärtnerei Grünwald",
        phone: "+49 30 40006000",
        responsible: "ben",
        contacts: &[(
            "Ole Grünwald",
            &["+49 157 20000006"],
            "ole@gruenwald.example",
        )],
        deal: ("Greenhouse PV", 6_400_000, DealStage::Open),
    },
    DemoCompany {
        name: "Logistik Nord GmbH",
        phone: "+49 40 60007000",
        responsible: "david",
        contacts: &[
            (
                "Sven Petersen",
                &["+49 40 60007001"],
                "petersen@logistik-nord.example",
            ),
            (
                "Frauke Jansen",
                &["+49 40 60007002", "+49 171 20000007"],
                "jansen@logistik-nord.example",
            ),
        ],
        deal: ("Warehouse 250 kWp", 31_000_000, DealStage::Open),
    },
    DemoCompany {
        name: "Trattoria Da Luca",
        phone: "+39 02 12345000",
        responsible: "clara",
        contacts: &[(
            "Luca Bianchi",
            &["+39 02 12345001", "+39 347 1234501"],
            "luca@daluca.example",
        )],
        deal: ("Kitchen roof 15 kWp", 2_250_000, DealStage::Open),
    },
    DemoCompany {
        name: "Ceramiche Rossi",
        phone: "+39 055 2345000",
        responsible: "eva",
        contacts: &[
            (
                "Giulia Rossi",
                &["+39 055 2345001"],
                "giulia@ceramicherossi.example",
            ),
            (
                "Paolo Conti",
                &["+39 333 7654302"],
                "paolo@ceramicherossi.example",
            ),
        ],
        deal: ("Kiln heat recovery", 12_000_000, DealStage::Won),
    },
    DemoCompany {
        name: "Piekarnia Nowak",
        phone: "+48 22 5550100",
        responsible: "felix",
        contacts: &[(
            "Anna Nowak",
            &["+48 22 5550101", "+48 601 234 501"],
            "anna@piekarnia-nowak.example",
        )],
        deal: ("Bakery roof 20 kWp", 2_800_000, DealStage::Open),
    },
    DemoCompany {
        name: "Stocznia Bałtyk",
        phone: "+48 58 5550200",
        responsible: "felix",
        contacts: &[
            (
                "Piotr Kowalski",
                &["+48 58 5550201"],
                "p.kowalski@baltyk.example",
            ),
            (
                "Ewa Wiśniewska",
                &["+48 602 345 602"],
                "e.wisniewska@baltyk.example",
            ),
        ],
        deal: ("Hall 1 MWp", 95_000_000, DealStage::Open),
    },
    DemoCompany {
        name: "Kita Sonnenschein",
        phone: "+49 30 40012000",
        responsible: "eva",
        contacts: &[(
            "Maria Lehmann",
            &["+49 30 40012001"],
            "leitung@kita-sonnenschein.example",
        )],
        deal: ("Playground shade PV", 1_200_000, DealStage::Open),
    },
];

/// Callers we do not know yet: each becomes a lead on a line that creates leads.
const UNKNOWN_CALLERS: &[&str] = &[
    "+49 151 70000001",
    "+49 30 98765432",
    "+49 176 70000003",
    "+39 340 7000004",
    "+48 603 700 005",
    "anonymous",
];

/// How many calls the demo's two weeks hold.
const CALLS: u64 = 80;

/// The routing settings; `{login}` is replaced by that user's id.
const ROUTING: &str = r#"
backup_number = "+4930123450"

[[agents]]
id = {anna}
name = "Anna Schmidt"
extension = "101"
mobile = "+4915110000101"

[[agents]]
id = {ben}
name = "Ben Weber"
extension = "102"

[[agents]]
id = {clara}
name = "Clara Wolf"
extension = "103"
device = "browser"

[[agents]]
id = {david}
name = "David Koch"
extension = "104"
mobile = "+4915110000104"
device = "app"

[[agents]]
id = {eva}
name = "Eva Braun"
extension = "201"

[[agents]]
id = {felix}
name = "Felix Lang"
extension = "202"
mobile = "+4915110000202"

[[lines]]
number = "+493012345678"
name = "Sales"
time_zone = "Europe/Berlin"
queue = "sales"
days_off = ["2026-12-24", "2026-12-31"]
holidays = [
  { date = "01-01", name = "New Year" },
  { date = "12-25", name = "Christmas Day" },
  { date = "12-26", name = "Boxing Day" },
]

[lines.working_hours]
monday = ["08:00-18:00"]
tuesday = ["08:00-18:00"]
wednesday = ["08:00-18:00"]
thursday = ["08:00-18:00"]
friday = ["08:00-16:00"]

[lines.out_of_hours]
action = "voicemail"

[lines.responsible_manager]
enabled = true
rings = 4
no_answer = { action = "continue" }

[[lines]]
number = "+493012345679"
name = "Support"
time_zone = "Europe/Berlin"
ivr = "support-main"
queue = "support"

[lines.working_hours]
monday = ["08:00-20:00"]
tuesday = ["08:00-20:00"]
wednesday = ["08:00-20:00"]
thursday = ["08:00-20:00"]
friday = ["08:00-20:00"]
saturday = ["10:00-14:00"]

[lines.out_of_hours]
action = "forward"
number = "+4915110000202"

[[lines]]
number = "+498001234567"
name = "Hotline"
time_zone = "Europe/Berlin"
queue = "everyone"

[[queues]]
name = "sales"
extension = "500"
strategy = "evenly"
members = [{anna}, {ben}, {clara}, {david}]
rings = 4
skip_off_shift = true
no_answer = { action = "wait_in_queue", music = "hold-music", max_wait_seconds = 300, then = { action = "voicemail" } }

[[queues]]
name = "support"
extension = "600"
strategy = "in_order"
members = [{eva}, {felix}]
rings = 3
no_answer = { action = "queue", queue = "everyone" }

[[queues]]
name = "everyone"
strategy = "all_at_once"
members = [{anna}, {ben}, {clara}, {david}, {eva}, {felix}]
rings = 5
no_answer = { action = "voicemail" }

[[ivr_menus]]
name = "support-main"
prompt = "support-menu"
timeout_seconds = 5
max_repeats = 2

[ivr_menus.options]
"1" = { action = "queue", queue = "support" }
"2" = { action = "queue", queue = "sales" }
"9" = { action = "voicemail" }
"#;

/// What a demo run did, printed by the command.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct DemoSummary {
    pub users: usize,
    pub companies: usize,
    pub contacts: usize,
    pub deals: usize,
    pub lines: usize,
    pub calls_logged: usize,
    pub calls_already_there: usize,
    pub leads_created: usize,
    pub routing_applied: bool,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Demo company \"Nordlicht Solar GmbH\" loaded.")?;
        writeln!(
            f,
            "created: {} users, {} companies, {} contacts, {} deals, {} lines, {} calls, {} leads{}",
            self.users,
            self.companies,
            self.contacts,
            self.deals,
            self.lines,
            self.calls_logged,
            self.leads_created,
            if self.routing_applied { ", routing settings" } else { "" }
        )?;
        if self.calls_already_there > 0 {
            writeln!(
                f,
                "already there: {} calls (nothing duplicated)",
                self.calls_already_there
            )?;
        }
        writeln!(f, "sign in to the web app as:")?;
        for u in USERS.iter().take(3) {
            writeln!(
                f,
                "  {:<6} / {:<16} {} ({})",
                u.login, u.password, u.name, u.role
            )?;
        }
        write!(f, "  ben, clara, david, eva, felix: password demo-agent")
    }
}

/// The prompts the demo's routing settings name, as short tones, so the settings stay valid
/// when an admin edits them in the app (routing accepts only uploaded prompt names).
pub(crate) async fn store_prompts(data_dir: &std::path::Path) -> anyhow::Result<()> {
    for (name, hz) in [("support-menu", 440.0)] {
        let exists = data_dir
            .join("prompts")
            .join(format!("{name}.wav"))
            .exists();
        if !exists {
            api::store_prompt(data_dir, name, &tone_wav(hz, 8000, 1.0))
                .await
                .map_err(|e| anyhow::anyhow!("demo prompt {name}: {}", e.message))?;
        }
    }
    Ok(())
}

/// A sine tone as 16-bit mono PCM WAV.
fn tone_wav(hz: f64, rate: u32, seconds: f64) -> Vec<u8> {
    let frames = (f64::from(rate) * seconds) as u32;
    let data_len = frames * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let t = f64::from(i) / f64::from(rate);
        let sample = (8000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

pub(crate) async fn load_demo(crm: &Crm, now: Timestamp) -> anyhow::Result<DemoSummary> {
    let store = crm.store();
    let mut summary = DemoSummary::default();

    let mut users: HashMap<&str, UserId> = HashMap::new();
    for &DemoUser {
        login,
        name,
        role,
        extension,
        mobile,
        password,
    } in USERS
    {
        let id = match store.find_user_by_login(login).await? {
            Some((user, _)) => user.id,
            None => {
                let mobile = match mobile {
                    Some(raw) => crm.normalize("mobile", raw)?,
                    None => None,
                };
                let user = NewUser {
                    name: name.into(),
                    login: login.into(),
                    role,
                    extension: extension.map(str::to_string),
                    mobile,
                };
                summary.users += 1;
                api::auth::add_user(store.as_ref(), user, Some(password))
                    .await
                    .map_err(|e| anyhow::anyhow!("demo user {login}: {e}"))?
                    .id
            }
        };
        users.insert(login, id);
    }

    let mut sources: HashMap<String, SourceId> = store
        .list_sources()
        .await?
        .into_iter()
        .map(|s| (s.name, s.id))
        .collect();
    for name in SOURCES {
        if !sources.contains_key(*name) {
            let source = store.create_source(name).await?;
            sources.insert(source.name, source.id);
        }
    }

    for &(number, name, source, lead_rule) in LINES {
        let number = crm
            .normalize("number", number)?
            .expect("demo lines are numbers");
        if store.find_line_by_number(&number.e164).await?.is_none() {
            store
                .create_line(NewLine {
                    number,
                    name: name.into(),
                    source_id: sources.get(source).copied(),
                    origin: LineOrigin::Manual,
                    lead_rule,
                })
                .await?;
            summary.lines += 1;
        }
    }

    // Every contact's first number, for the calls below: (number, agent login).
    let mut known_callers: Vec<(&str, &str)> = Vec::new();
    for company in COMPANIES {
        let responsible = users.get(company.responsible).copied();
        let company_id: CompanyId = match store.find_company_by_name(company.name).await? {
            Some(existing) => existing.id,
            None => {
                summary.companies += 1;
                crm.create_company(NewCompany {
                    name: company.name.into(),
                    phones: crm.phones("phones", &[company.phone.to_string()])?,
                    emails: Vec::new(),
                    responsible_id: responsible,
                })
                .await?
                .id
            }
        };
        let mut first_contact = None;
        for &(name, phones, email) in company.contacts {
            known_callers.push((phones[0], company.responsible));
            let phones = crm.phones(
                "phones",
                &phones.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            )?;
            let existing = store.find_by_phone(&phones[0].e164).await?;
            if let Some(contact) = existing.contacts.into_iter().next() {
                first_contact.get_or_insert((contact.id, false));
                continue;
            }
            let contact = crm
                .create_contact(NewContact {
                    name: name.into(),
                    company_id: Some(company_id),
                    phones,
                    emails: vec![email.into()],
                    responsible_id: responsible,
                    source_id: None,
                })
                .await?;
            summary.contacts += 1;
            first_contact.get_or_insert((contact.id, true));
        }
        // The deal goes in with its company's first contact, so a rerun does not add it again.
        if let Some((contact_id, true)) = first_contact {
            let (title, euros, stage) = company.deal;
            let deal = crm
                .create_deal(
                    NewDeal {
                        title: title.into(),
                        stage: DealStage::Open,
                        contact_id: Some(contact_id),
                        company_id: Some(company_id),
                        responsible_id: responsible,
                        amount: Money {
                            amount_minor: euros,
                            currency: "EUR".into(),
                        },
                    },
                    now - chrono::Duration::days(20),
                )
                .await?;
            if stage != DealStage::Open {
                crm.update_deal(
                    deal.id,
                    domain::DealPatch {
                        stage: Some(stage),
                        ..Default::default()
                    },
                    now - chrono::Duration::days(2),
                )
                .await?;
            }
            summary.deals += 1;
        }
    }

    for call in demo_calls(now, &known_callers) {
        let report = CallReport {
            direction: call.direction,
            remote: call.remote.into(),
            line: Some(call.line.into()),
            agent_id: call.agent.and_then(|login| users.get(login).copied()),
            queue: call.queue.map(str::to_string),
            started_at: call.started_at,
            answered_at: call.answered_at,
            ended_at: call.ended_at,
            status: call.status,
            recording: None,
            rating: call.rating,
            notes: call.notes.map(str::to_string),
            origin: CallOrigin::Api,
            idempotency_key: Some(call.key),
        };
        let logged = crm.log_call(report).await?;
        if logged.duplicate {
            summary.calls_already_there += 1;
        } else {
            summary.calls_logged += 1;
            summary.leads_created += usize::from(logged.created_lead.is_some());
        }
    }

    if store
        .get_setting(api::routing_settings::SETTING_KEY)
        .await?
        .is_none()
    {
        let mut text = ROUTING.to_string();
        for (login, id) in &users {
            text = text.replace(&format!("{{{login}}}"), &id.to_string());
        }
        let config = routing::RoutingConfig::from_toml(&text)
            .map_err(|e| anyhow::anyhow!("demo routing settings: {e}"))?;
        api::routing_settings::save(store.as_ref(), &config)
            .await
            .map_err(|e| anyhow::anyhow!("demo routing settings: {e}"))?;
        summary.routing_applied = true;
    }
    Ok(summary)
}

/// One call of the demo's history.
#[derive(Debug, Clone, PartialEq)]
struct DemoCall {
    key: String,
    direction: Direction,
    remote: &'static str,
    line: &'static str,
    agent: Option<&'static str>,
    queue: Option<&'static str>,
    started_at: Timestamp,
    answered_at: Option<Timestamp>,
    ended_at: Timestamp,
    status: CallStatus,
    rating: Option<u8>,
    notes: Option<&'static str>,
}

/// Two weeks of calls, the same every run: a small linear congruential generator seeded with a
/// constant picks caller, line, outcome and time, working hours only, newest last.
fn demo_calls(now: Timestamp, known: &[(&'static str, &'static str)]) -> Vec<DemoCall> {
    let mut seed: u64 = 0x5EED_CA11;
    let mut next = move |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    const AGENTS: &[&str] = &["anna", "ben", "clara", "david", "eva", "felix"];
    let mut calls = Vec::with_capacity(CALLS as usize);
    for i in 0..CALLS {
        // Spread over 14 days, 08:00–18:00 UTC, oldest first.
        let minutes_ago = (CALLS - i) * (14 * 24 * 60 / CALLS) + next(60);
        let started_at = now - chrono::Duration::minutes(minutes_ago as i64);
        let unknown = next(5) == 0;
        let (remote, responsible) = if unknown {
            (
                UNKNOWN_CALLERS[next(UNKNOWN_CALLERS.len() as u64) as usize],
                None,
            )
        } else {
            let (number, agent) = known[next(known.len() as u64) as usize];
            (number, Some(agent))
        };
        let direction = match (unknown, next(10)) {
            (true, _) | (false, 0..=5) => Direction::Incoming,
            (false, 6..=8) => Direction::Outgoing,
            _ => Direction::Callback,
        };
        let line = match direction {
            Direction::Incoming => LINES[next(LINES.len() as u64) as usize].0,
            _ => LINES[0].0,
        };
        let agent = responsible.or(Some(AGENTS[next(AGENTS.len() as u64) as usize]));
        let status = match next(10) {
            0..=5 => CallStatus::Answered,
            6 | 7 => CallStatus::Missed,
            8 => CallStatus::Busy,
            _ if direction == Direction::Incoming => CallStatus::Voicemail,
            _ => CallStatus::Missed,
        };
        let ring = chrono::Duration::seconds(5 + next(20) as i64);
        let (answered_at, ended_at) = if status == CallStatus::Answered {
            let talk = chrono::Duration::seconds(30 + next(600) as i64);
            (Some(started_at + ring), started_at + ring + talk)
        } else {
            (None, started_at + ring)
        };
        let queue = (direction == Direction::Incoming).then(|| {
            if line == LINES[1].0 {
                "support"
            } else {
                "sales"
            }
        });
        let rating = (status == CallStatus::Answered && next(3) == 0).then(|| 3 + next(3) as u8);
        let notes = (status == CallStatus::Answered && next(4) == 0).then(|| {
            [
                "Asked for an offer with battery storage.",
                "Wants a site visit next week.",
                "Compared with a competitor's price; send references.",
                "Financing question, forward to the bank partner.",
            ][next(4) as usize]
        });
        calls.push(DemoCall {
            key: format!("demo-call-{i}"),
            direction,
            remote,
            line,
            agent: if status == CallStatus::Answered || direction != Direction::Incoming {
                agent
            } else {
                None
            },
            queue,
            started_at,
            answered_at,
            ended_at,
            status,
            rating,
            notes,
        });
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    async fn crm_on_sqlite(dir: &std::path::Path) -> Crm {
        let store = store_sql::SqlStore::open_sqlite_file(&dir.join("ringbase.db"))
            .await
            .expect("sqlite store");
        Crm::new(
            Arc::new(store),
            "DE".parse().expect("region"),
            events::EventBus::default(),
        )
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn the_calls_are_the_same_every_run_and_stay_in_the_past_two_weeks() {
        let now = at("2026-12-02T12:00:00Z");
        let known = [("+49 30 40001001", "anna"), ("+39 02 12345001", "clara")];
        let first = demo_calls(now, &known);
        assert_eq!(first, demo_calls(now, &known));
        assert_eq!(first.len(), CALLS as usize);
        for call in &first {
            assert!(call.started_at < now && call.started_at > now - chrono::Duration::days(15));
            assert!(call.ended_at >= call.started_at, "{call:?}");
            assert_eq!(
                call.answered_at.is_some(),
                call.status == CallStatus::Answered
            );
        }
        let statuses: std::collections::HashSet<_> = first.iter().map(|c| c.status).collect();
        assert!(
            statuses.len() >= 4,
            "a realistic mix of outcomes: {statuses:?}"
        );
        assert!(first
            .iter()
            .any(|c| c.remote == "anonymous" || !known.iter().any(|k| k.0 == c.remote)));
    }

    #[tokio::test]
    async fn every_prompt_the_demo_routing_names_is_stored() {
        let dir = tempfile::tempdir().expect("tempdir");
        store_prompts(dir.path()).await.expect("prompts stored");
        let text = USERS
            .iter()
            .zip(1..)
            .fold(ROUTING.to_string(), |text, (u, id)| {
                text.replace(&format!("{{{}}}", u.login), &id.to_string())
            });
        let config = routing::RoutingConfig::from_toml(&text).expect("demo routing parses");
        let names = config.prompt_references();
        assert!(!names.is_empty());
        for (key, name) in names {
            let file = dir.path().join("prompts").join(format!("{name}.wav"));
            assert!(file.exists(), "{key}: {name}");
        }
        // Idempotent: a second run keeps what is there.
        store_prompts(dir.path()).await.expect("again");
    }

    #[tokio::test]
    async fn demo_loads_a_company_whose_callers_are_recognised_and_a_rerun_adds_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let crm = crm_on_sqlite(dir.path()).await;
        let now = at("2026-12-02T12:00:00Z");

        let first = load_demo(&crm, now).await.expect("demo loads");
        assert_eq!(first.users, USERS.len());
        assert_eq!(first.companies, COMPANIES.len());
        assert_eq!(first.lines, LINES.len());
        assert_eq!(
            first.contacts,
            COMPANIES.iter().map(|c| c.contacts.len()).sum::<usize>()
        );
        assert_eq!(first.deals, COMPANIES.len());
        assert_eq!(first.calls_logged, CALLS as usize);
        assert!(
            first.leads_created >= 1,
            "unknown callers become leads: {first:?}"
        );
        assert!(first.routing_applied);

        // Who is calling from Heinz Krause's mobile? His card, his company, its open deal, Anna.
        let card = crm.lookup("0151 20000001").await.expect("lookup");
        assert_eq!(
            card.contact.as_ref().map(|c| c.name.as_str()),
            Some("Heinz Krause")
        );
        assert_eq!(
            card.company.as_ref().map(|c| c.name.as_str()),
            Some("Bäckerei Krause")
        );
        assert_eq!(
            card.deal.as_ref().map(|d| d.title.as_str()),
            Some("Roof 30 kWp")
        );
        assert_eq!(
            card.responsible.as_ref().map(|u| u.login.as_str()),
            Some("anna")
        );

        // The admin can sign in with the printed password.
        let admin = api::auth::check_password(crm.store().as_ref(), "admin", "demo-admin")
            .await
            .expect("password check")
            .expect("the printed password signs in");
        assert_eq!(admin.role, Role::Admin);

        // The routing settings name real users: `simulate` can follow them.
        let config = api::routing_settings::load(crm.store().as_ref())
            .await
            .unwrap();
        assert_eq!(config.agents.len(), 6);
        let anna = agent_id_of(&crm, "anna").await;
        assert!(config.agents.iter().any(|a| a.id.to_string() == anna));

        let again = load_demo(&crm, now + chrono::Duration::hours(1))
            .await
            .expect("rerun");
        assert_eq!(
            again,
            DemoSummary {
                calls_already_there: CALLS as usize,
                ..Default::default()
            }
        );
    }

    async fn agent_id_of(crm: &Crm, login: &str) -> String {
        let (user, _) = crm
            .store()
            .find_user_by_login(login)
            .await
            .unwrap()
            .unwrap();
        user.id.to_string()
    }
}
