//! `ringbase`: the one binary. Commands: serve, apikey, user, import, demo, config, simulate,
//! bench.
//!
//! Everything here is wiring and argument handling; behaviour lives in the library crates.

mod bench;
mod demo;
mod import;
mod server;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "ringbase", version, about = "Self-hosted CRM telephony server")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives and how numbers are read; accepted before or after the command.
#[derive(Args, Clone, Debug)]
pub(crate) struct GlobalArgs {
    /// Directory for the embedded database and recordings.
    #[arg(
        long,
        global = true,
        env = "RINGBASE_DATA_DIR",
        default_value = "./data"
    )]
    pub(crate) data_dir: PathBuf,
    /// Use PostgreSQL instead of the embedded SQLite, e.g. postgres://user@host/db.
    #[arg(long, global = true, env = "RINGBASE_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    /// Country for numbers written without a country code (ISO code: DE, IT, PL, ...).
    #[arg(
        long,
        global = true,
        env = "RINGBASE_DEFAULT_REGION",
        default_value = "DE"
    )]
    pub(crate) default_region: phone::Region,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Manage users (employees).
    #[command(subcommand)]
    User(UserCommand),
    /// Import data.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Load a realistic demo company (users, contacts, deals, lines, calls).
    Demo,
    /// Routing settings as a TOML file: apply one, or export the current ones.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// What happens to a call? Runs a scenario against the routing settings and prints the
    /// timeline of decisions.
    Simulate {
        /// The scenario (TOML): time, caller, dialed line, digits, how each agent behaves.
        scenario: PathBuf,
        /// Use these settings instead of the stored ones.
        #[arg(long)]
        settings: Option<PathBuf>,
        /// JSON lines instead of text.
        #[arg(long)]
        json: bool,
        /// Include timers in the text output.
        #[arg(long)]
        verbose: bool,
    },
    /// Measure: figures for BENCHMARKS.md.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Caller lookup latency with N contacts: seeds the store under --data-dir once (use a
    /// scratch directory), then times lookups in-process.
    Lookup {
        #[arg(long, default_value_t = 1_000_000)]
        contacts: u64,
        #[arg(long, default_value_t = 20_000)]
        lookups: u64,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a settings file and store it; errors name the line and the key.
    Apply { file: PathBuf },
    /// Print the stored settings as TOML.
    Export,
}

#[derive(Args)]
struct ServeArgs {
    /// HTTP listen address (API, web app, bridge API).
    #[arg(long, env = "RINGBASE_HTTP", default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// SIP listen address, UDP and TCP (e.g. 0.0.0.0:5060, [::]:5060; port 0 picks a free
    /// port and logs it). Several: repeat the flag or separate with commas. Off when not given.
    #[arg(long, env = "RINGBASE_SIP", value_delimiter = ',')]
    sip: Vec<SocketAddr>,
    /// SIP digest realm; SIP passwords are hashed with it, so changing it means setting them
    /// again. Default: this machine's host name, else "ringbase".
    #[arg(long, env = "RINGBASE_SIP_REALM")]
    sip_realm: Option<String>,
    /// Digest algorithms challenged with, preferred first (RFC 8760): SHA-256, MD5. Clients
    /// that read only the first challenge and know only MD5 (SIPp 3.6, old phones) need MD5
    /// first or alone.
    #[arg(long, value_delimiter = ',', default_value = "SHA-256,MD5", value_parser = parse_digest_algorithm)]
    sip_digest_algorithms: Vec<sip_net::DigestAlgorithm>,
    /// Shortest registration interval accepted (seconds); shorter ones get 423.
    #[arg(long, default_value_t = 60)]
    sip_min_expires: u32,
    /// Longest registration interval granted (seconds); longer ones are cut down.
    #[arg(long, default_value_t = 3600)]
    sip_max_expires: u32,
    /// A SIP trunk: `name=provider,host=sip.provider.example:5060[,number=+4930123456,
    /// username=acc1,password=secret,domain=provider.example,proxy=host:port,register=yes|no,
    /// expires=3600,allow=203.0.113.5;203.0.113.6:5060]`. With username and password it
    /// registers to the provider (`register=no` turns that off) and answers its challenges.
    /// INVITEs are accepted as inbound calls only from `allow` (an IP alone: any port;
    /// default: the addresses of `host` and `proxy`). Outbound calls take the trunk whose
    /// `number` is the caller ID, else the first. Repeat for several trunks; trunks edited in
    /// the app (`PUT /api/v1/trunks`) follow these.
    #[arg(long = "sip-trunk", env = "RINGBASE_SIP_TRUNK", value_parser = sip_net::TrunkConfig::parse)]
    sip_trunks: Vec<sip_net::TrunkConfig>,
    /// The address calls advertise in Via and Contact (needed when `--sip` is 0.0.0.0 or
    /// behind NAT). Default: the first `--sip` address.
    #[arg(long, env = "RINGBASE_SIP_PUBLIC")]
    sip_public: Option<SocketAddr>,
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Create a key; prints only the key (use it as `Authorization: Bearer KEY`).
    Create {
        #[arg(long, value_parser = parse_role)]
        role: domain::Role,
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List keys (never the secrets).
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an employee.
    Add {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role, default_value = "agent")]
        role: domain::Role,
        #[arg(long)]
        extension: Option<String>,
        #[arg(long)]
        mobile: Option<String>,
        /// Web sign-in password; read from standard input when `-` is given.
        #[arg(long)]
        password: Option<String>,
    },
    /// List employees.
    List,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Contacts from CSV (header row: name, phone(s), email(s), company) or vCard (.vcf).
    Contacts {
        file: PathBuf,
        /// File format; guessed from the extension when omitted.
        #[arg(long)]
        format: Option<import::Format>,
        /// No progress bar (for scripts and CI logs).
        #[arg(long)]
        quiet: bool,
    },
}

fn parse_digest_algorithm(s: &str) -> Result<sip_net::DigestAlgorithm, String> {
    match s.to_ascii_uppercase().as_str() {
        "MD5" => Ok(sip_net::DigestAlgorithm::Md5),
        "SHA-256" | "SHA256" => Ok(sip_net::DigestAlgorithm::Sha256),
        _ => Err(format!("{s}: expected MD5 or SHA-256")),
    }
}

fn parse_role(s: &str) -> Result<domain::Role, String> {
    s.parse()
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let global = cli.global;
    match cli.command {
        Command::Serve(args) => {
            if args.sip_min_expires == 0 || args.sip_min_expires > args.sip_max_expires {
                anyhow::bail!("--sip-min-expires must be between 1 and --sip-max-expires");
            }
            let config = server::ServeConfig {
                global,
                http: args.http,
                sip: args.sip,
                sip_realm: args.sip_realm.unwrap_or_else(server::default_sip_realm),
                sip_digest_algorithms: args.sip_digest_algorithms,
                sip_trunks: args.sip_trunks,
                sip_public: args.sip_public,
                sip_registrar: sip_net::RegistrarConfig {
                    min_expires: args.sip_min_expires,
                    max_expires: args.sip_max_expires,
                    default_expires: args.sip_max_expires,
                    ..sip_net::RegistrarConfig::default()
                },
            };
            server::run(config, server::shutdown_signal()).await
        }
        Command::Apikey(cmd) => {
            let store = server::open_store(&global).await?;
            match cmd {
                ApikeyCommand::Create { role, name } => {
                    let key = api::auth::create_api_key(store.as_ref(), &name, role).await?;
                    println!("{key}");
                }
                ApikeyCommand::List => {
                    for key in store.list_api_keys().await? {
                        println!("{}\t{}\t{}\t{}…", key.id, key.name, key.role, key.prefix);
                    }
                }
            }
            Ok(())
        }
        Command::User(cmd) => {
            let store = server::open_store(&global).await?;
            let crm = crm::Crm::new(
                store.clone(),
                global.default_region,
                events::EventBus::default(),
            );
            match cmd {
                UserCommand::Add {
                    login,
                    name,
                    role,
                    extension,
                    mobile,
                    password,
                } => {
                    let password = match password.as_deref() {
                        Some("-") => {
                            let mut line = String::new();
                            std::io::stdin().read_line(&mut line)?;
                            Some(line.trim_end_matches(['\r', '\n']).to_string())
                        }
                        other => other.map(str::to_string),
                    };
                    let mobile = match mobile.as_deref() {
                        Some(raw) => crm.normalize("mobile", raw)?,
                        None => None,
                    };
                    let user = api::auth::add_user(
                        store.as_ref(),
                        domain::NewUser {
                            name,
                            login,
                            role,
                            extension,
                            mobile,
                        },
                        password.as_deref(),
                    )
                    .await?;
                    println!("{}", user.id);
                }
                UserCommand::List => {
                    for u in store.list_users().await? {
                        println!(
                            "{}\t{}\t{}\t{}\t{}",
                            u.id,
                            u.login,
                            u.role,
                            u.extension.as_deref().unwrap_or("-"),
                            u.name
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Import(ImportCommand::Contacts {
            file,
            format,
            quiet,
        }) => {
            let store = server::open_store(&global).await?;
            let crm = crm::Crm::new(store, global.default_region, events::EventBus::default());
            let report = import::import_contacts(&crm, &file, format, !quiet)
                .await
                .with_context(|| format!("importing {}", file.display()))?;
            for skipped in &report.skipped {
                eprintln!("line {}: skipped: {}", skipped.line, skipped.reason);
            }
            eprintln!(
                "imported {} contacts, skipped {} rows",
                report.imported,
                report.skipped.len()
            );
            Ok(())
        }
        Command::Config(cmd) => {
            let store = server::open_store(&global).await?;
            match cmd {
                ConfigCommand::Apply { file } => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let config = routing::RoutingConfig::from_toml(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    api::routing_settings::save(store.as_ref(), &config).await?;
                    eprintln!(
                        "applied {}: {} lines, {} queues, {} IVR menus, {} agents",
                        file.display(),
                        config.lines.len(),
                        config.queues.len(),
                        config.ivr_menus.len(),
                        config.agents.len()
                    );
                }
                ConfigCommand::Export => {
                    let config = api::routing_settings::load(store.as_ref()).await?;
                    print!("{}", config.to_toml()?);
                }
            }
            Ok(())
        }
        Command::Simulate {
            scenario,
            settings,
            json,
            verbose,
        } => {
            let config = match settings {
                Some(file) => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    routing::RoutingConfig::from_toml(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
                }
                None => {
                    let store = server::open_store(&global).await?;
                    api::routing_settings::load(store.as_ref()).await?
                }
            };
            let text = std::fs::read_to_string(&scenario)
                .with_context(|| format!("reading {}", scenario.display()))?;
            let scenario = routing::Scenario::from_toml(&text)?;
            let timeline = routing::simulate(&config, &scenario)?;
            let out = if json {
                timeline.to_json_lines()
            } else if verbose {
                timeline.to_text_verbose()
            } else {
                timeline.to_text()
            };
            print!("{out}");
            Ok(())
        }
        Command::Demo => {
            let store = server::open_store(&global).await?;
            let crm = Arc::new(crm::Crm::new(
                store,
                global.default_region,
                events::EventBus::default(),
            ));
            let summary = demo::load_demo(&crm, chrono::Utc::now()).await?;
            demo::store_prompts(&global.data_dir).await?;
            println!("{summary}");
            Ok(())
        }
        Command::Bench(BenchCommand::Lookup { contacts, lookups }) => {
            let store = server::open_store(&global).await?;
            let crm = crm::Crm::new(store, global.default_region, events::EventBus::default());
            let report = bench::lookup(&crm, bench::LookupBench { contacts, lookups }).await?;
            print!("{report}");
            Ok(())
        }
    }
}
