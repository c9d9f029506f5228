//! Trunks: the settings of a provider line (what admins know from FreePBX or Bitrix24), their
//! resolution to addresses, and the live registration status shared with the HTTP API.
//!
//! A trunk's settings come from the command line (`--sip-trunk`, read-only) or from the
//! store (setting key `trunks`, edited over the API); the shell resolves host names with
//! the system resolver before the endpoint loop uses them.

use serde::{Deserialize, Serialize};
use sip_core::registration::{RegistrationState, RegistrationStatus};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

/// The SIP port when a host is given without one.
pub const DEFAULT_PORT: u16 = 5060;
/// The registration expiry asked for when none is set.
pub const DEFAULT_EXPIRES: u32 = 3600;
/// The accepted range of `expires`.
pub const EXPIRES_RANGE: std::ops::RangeInclusive<u32> = 60..=86_400;

fn default_expires() -> u32 {
    DEFAULT_EXPIRES
}

/// One trunk's settings, as stored and as the API shows them (without the password).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    /// A name for logs, the API and the status.
    pub name: String,
    /// The number (E.164) of the line this trunk carries: outbound calls presented with it
    /// take this trunk, and it is the user of our From.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The account at the provider (digest user name, user of the AOR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The account's password. Kept in clear: answering a digest challenge needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The registrar's domain and the host of our From (default: the host of `host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The provider: `host:port` (name or IP; port 5060 when left out).
    pub host: String,
    /// Where requests physically go instead of `host` (`host:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_proxy: Option<String>,
    /// Register to the provider (default: when a username and password are given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<bool>,
    /// The registration expiry asked for, in seconds.
    #[serde(default = "default_expires")]
    pub expires: u32,
    /// Source addresses inbound INVITEs are accepted from (`ip` or `ip:port`); empty: the
    /// addresses of `host` and `outbound_proxy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
}

impl std::fmt::Debug for TrunkConfig {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkConfig")
            .field("name", &self.name)
            .field("number", &self.number)
            .field("username", &self.username)
            .field("password_set", &self.password.is_some())
            .field("domain", &self.domain)
            .field("host", &self.host)
            .field("outbound_proxy", &self.outbound_proxy)
            .field("register", &self.register)
            .field("expires", &self.expires)
            .field("allow", &self.allow)
            .finish()
    }
}

/// A setting at fault: the field (`host`, `allow[1]`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkError {
    /// The field, relative to the trunk.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for TrunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> TrunkError {
    TrunkError {
        field: field.into(),
        message: message.into(),
    }
}

impl TrunkConfig {
    /// A trunk with only a name and a host.
    pub fn new(name: &str, host: &str) -> TrunkConfig {
        TrunkConfig {
            name: name.to_owned(),
            number: None,
            username: None,
            password: None,
            domain: None,
            host: host.to_owned(),
            outbound_proxy: None,
            register: None,
            expires: DEFAULT_EXPIRES,
            allow: Vec::new(),
        }
    }

    /// Whether this trunk registers to its provider.
    pub fn registers(&self) -> bool {
        self.register
            .unwrap_or(self.username.is_some() && self.password.is_some())
    }

    /// The registrar domain and From host: `domain`, else `host` as written (a port in a
    /// SIP URI's host part is fine).
    pub fn domain(&self) -> String {
        self.domain
            .clone()
            .unwrap_or_else(|| self.host.trim().to_owned())
    }

    /// Checks every field; the first fault is returned.
    pub fn validate(&self) -> Result<(), TrunkError> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(invalid("name", "must be 1 to 64 characters"));
        }
        if name.chars().any(|c| c.is_control() || c == ',' || c == '=') {
            return Err(invalid(
                "name",
                "must not contain control characters, `,` or `=`",
            ));
        }
        if let Some(number) = &self.number {
            let digits = number.strip_prefix('+').unwrap_or(number);
            if digits.len() < 3 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(invalid("number", "must be a number like +4930123456"));
            }
        }
        for (field, value) in [
            ("username", &self.username),
            ("password", &self.password),
            ("domain", &self.domain),
        ] {
            if let Some(v) = value {
                if v.is_empty() || v.len() > 128 || v.chars().any(|c| c.is_control()) {
                    return Err(invalid(field, "must be 1 to 128 printable characters"));
                }
            }
        }
        if let Some(user) = &self.username {
            if user
                .chars()
                .any(|c| c.is_whitespace() || "@:;<>\"".contains(c))
            {
                return Err(invalid(
                    "username",
                    "must not contain spaces or @ : ; < > \"",
                ));
            }
        }
        if let Some(domain) = &self.domain {
            check_host(domain).map_err(|m| invalid("domain", m))?;
        }
        split_host_port(&self.host).map_err(|m| invalid("host", m))?;
        if let Some(proxy) = &self.outbound_proxy {
            split_host_port(proxy).map_err(|m| invalid("outbound_proxy", m))?;
        }
        if !EXPIRES_RANGE.contains(&self.expires) {
            return Err(invalid(
                "expires",
                format!(
                    "must be {} to {} seconds",
                    EXPIRES_RANGE.start(),
                    EXPIRES_RANGE.end()
                ),
            ));
        }
        if self.register == Some(true) {
            if self.username.is_none() {
                return Err(invalid("username", "is needed to register"));
            }
            if self.password.is_none() {
                return Err(invalid("password", "is needed to register"));
            }
        }
        for (i, a) in self.allow.iter().enumerate() {
            parse_allow(a).map_err(|m| invalid(format!("allow[{i}]"), m))?;
        }
        Ok(())
    }

    /// Parses the command line's
    /// `name=provider,host=sip.example:5060[,number=+4930..,username=..,password=..,
    /// domain=..,proxy=host:port,register=yes|no,expires=3600,allow=ip;ip:port]`.
    pub fn parse(text: &str) -> Result<TrunkConfig, String> {
        let mut trunk = TrunkConfig::new("", "");
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected key=value"))?;
            let value = value.trim().to_owned();
            match key.trim() {
                "name" => trunk.name = value,
                "host" => trunk.host = value,
                "number" => trunk.number = Some(value),
                "username" | "user" => trunk.username = Some(value),
                "password" => trunk.password = Some(value),
                "domain" => trunk.domain = Some(value),
                "proxy" | "outbound_proxy" => trunk.outbound_proxy = Some(value),
                "register" => {
                    trunk.register = Some(match value.as_str() {
                        "yes" | "true" | "1" => true,
                        "no" | "false" | "0" => false,
                        _ => return Err(format!("register `{value}`: expected yes or no")),
                    })
                }
                "expires" => {
                    trunk.expires = value
                        .parse()
                        .map_err(|_| format!("expires `{value}`: expected seconds"))?
                }
                "allow" => {
                    trunk.allow = value
                        .split(';')
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                other => {
                    return Err(format!(
                        "unknown trunk key `{other}` (name, host, number, username, password, \
                         domain, proxy, register, expires, allow)"
                    ))
                }
            }
        }
        if trunk.name.is_empty() {
            return Err("a trunk needs name=".into());
        }
        if trunk.host.is_empty() {
            return Err("a trunk needs host=host:port".into());
        }
        trunk.validate().map_err(|e| e.to_string())?;
        Ok(trunk)
    }
}

/// Checks a list: every trunk, and names unique. The error names the index.
pub fn validate_trunks(trunks: &[TrunkConfig]) -> Result<(), (usize, TrunkError)> {
    for (i, t) in trunks.iter().enumerate() {
        t.validate().map_err(|e| (i, e))?;
        if trunks[..i].iter().any(|o| o.name.trim() == t.name.trim()) {
            return Err((i, invalid("name", "another trunk has this name")));
        }
    }
    Ok(())
}

/// `host:port`, `[v6]:port`, `host` or `v6` → host and port (5060 when left out).
pub fn split_host_port(text: &str) -> Result<(String, u16), String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok((addr.ip().to_string(), addr.port()));
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok((ip.to_string(), DEFAULT_PORT));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("port `{p}` is not 1 to 65535"))?,
        ),
        None => (text, DEFAULT_PORT),
    };
    check_host(host)?;
    Ok((host.to_ascii_lowercase(), port))
}

fn check_host(host: &str) -> Result<(), String> {
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{host}` is not a host name or IP address (host:port)"
        ))
    }
}

/// An allow entry: `ip` (any port) or `ip:port`.
fn parse_allow(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    text.parse::<SocketAddr>()
        .or_else(|_| text.parse::<IpAddr>().map(|ip| (ip, 0).into()))
        .map_err(|_| format!("`{text}` is not an ip or ip:port"))
}

/// A trunk with its addresses resolved: what the endpoint loop uses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trunk {
    pub(crate) config: TrunkConfig,
    /// The provider's address.
    pub(crate) host: SocketAddr,
    /// Where requests go: the outbound proxy, else `host`.
    pub(crate) destination: SocketAddr,
    /// Allowed sources; port 0 means any port.
    pub(crate) allow: Vec<SocketAddr>,
}

impl Trunk {
    /// The trunk, when its host and proxy are IP addresses already (nothing to resolve).
    pub(crate) fn from_literal(config: &TrunkConfig) -> Option<Trunk> {
        let addr = |t: &str| {
            let (h, p) = split_host_port(t).ok()?;
            Some(SocketAddr::new(h.parse().ok()?, p))
        };
        let host = addr(&config.host)?;
        let destination = match config.outbound_proxy.as_deref() {
            Some(proxy) => addr(proxy)?,
            None => host,
        };
        Some(Trunk::with(config.clone(), host, destination))
    }

    #[cfg(test)]
    pub(crate) fn literal(config: TrunkConfig) -> Trunk {
        Trunk::from_literal(&config).expect("IP addresses")
    }

    fn with(config: TrunkConfig, host: SocketAddr, destination: SocketAddr) -> Trunk {
        let mut allow: Vec<SocketAddr> = config
            .allow
            .iter()
            .filter_map(|a| parse_allow(a).ok())
            .collect();
        if allow.is_empty() {
            allow.push(host);
            if destination != host {
                allow.push(destination);
            }
        }
        Trunk {
            config,
            host,
            destination,
            allow,
        }
    }

    /// Whether an INVITE from `source` comes from this trunk.
    pub(crate) fn allows(&self, source: SocketAddr) -> bool {
        self.allow
            .iter()
            .any(|a| a.ip() == source.ip() && (a.port() == 0 || a.port() == source.port()))
    }

    /// Resolves `host` and `outbound_proxy` (IPv4 first, as the sockets mostly are).
    pub(crate) async fn resolve(config: TrunkConfig) -> Result<Trunk, String> {
        async fn one(text: &str) -> Result<SocketAddr, String> {
            let (host, port) = split_host_port(text)?;
            if let Ok(ip) = host.parse::<IpAddr>() {
                return Ok(SocketAddr::new(ip, port));
            }
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| format!("`{host}` does not resolve: {e}"))?
                .collect();
            found
                .iter()
                .find(|a| a.is_ipv4())
                .or(found.first())
                .copied()
                .ok_or_else(|| format!("`{host}` has no address"))
        }
        let host = one(&config.host).await?;
        let destination = match &config.outbound_proxy {
            Some(proxy) => one(proxy).await?,
            None => host,
        };
        Ok(Trunk::with(config, host, destination))
    }
}

/// Whether a caller ID is the trunk's number (`+49 30 123` and `4930123` match `+4930123`).
pub(crate) fn same_number(a: &str, b: &str) -> bool {
    let digits = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
    let (a, b) = (digits(a), digits(b));
    !a.is_empty() && a == b
}

/// A trunk's status for the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrunkStatus {
    /// `pending`, `registered`, `failed`, or `not_registering` (no registration asked for).
    pub state: &'static str,
    /// Why: the failure's reason, the granted expiry.
    pub detail: String,
    /// Since when the state holds.
    pub since: chrono::DateTime<chrono::Utc>,
    /// When the registration lapses unless refreshed.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl TrunkStatus {
    pub(crate) fn of_registration(
        status: &RegistrationStatus,
        wall: impl Fn(sip_core::Instant) -> chrono::DateTime<chrono::Utc>,
    ) -> TrunkStatus {
        TrunkStatus {
            state: match status.state {
                RegistrationState::Pending => "pending",
                RegistrationState::Registered => "registered",
                RegistrationState::Failed => "failed",
                RegistrationState::Unregistered => "not_registering",
            },
            detail: status.detail.clone(),
            since: wall(status.since),
            expires_at: status.expires_at.map(wall),
        }
    }
}

/// The trunks' live status, shared by the SIP service (writer) and the API (reader), and
/// the command line's trunks (shown read-only). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Trunks {
    inner: Arc<Mutex<TrunksInner>>,
}

#[derive(Debug, Default)]
struct TrunksInner {
    cli: Vec<TrunkConfig>,
    status: HashMap<String, TrunkStatus>,
}

impl Trunks {
    /// With the command line's trunks.
    pub fn new(cli: Vec<TrunkConfig>) -> Trunks {
        Trunks {
            inner: Arc::new(Mutex::new(TrunksInner {
                cli,
                status: HashMap::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TrunksInner> {
        // A panic elsewhere cannot leave this map half-written: every write is one insert.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The command line's trunks (read-only for the API).
    pub fn cli(&self) -> Vec<TrunkConfig> {
        self.lock().cli.clone()
    }

    /// The status of the trunk named `name`, if the SIP service has one.
    pub fn status(&self, name: &str) -> Option<TrunkStatus> {
        self.lock().status.get(name).cloned()
    }

    pub(crate) fn set_status(&self, name: &str, status: TrunkStatus) {
        let mut inner = self.lock();
        if inner.status.get(name) != Some(&status) {
            inner.status.insert(name.to_owned(), status);
        }
    }

    /// Forgets the status of every trunk not named in `names`.
    pub(crate) fn retain(&self, names: &[&str]) {
        self.lock()
            .status
            .retain(|n, _| names.contains(&n.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_the_command_line_with_every_key() {
        let t = TrunkConfig::parse(
            "name=p,host=sip.provider.example,number=+4930123456,username=acc1,password=pw,\
             domain=provider.example,proxy=127.0.0.1:5080,expires=600,allow=198.51.100.7;198.51.100.8:5061",
        )
        .unwrap();
        assert_eq!(t.host, "sip.provider.example");
        assert_eq!(t.number.as_deref(), Some("+4930123456"));
        assert_eq!(t.domain(), "provider.example");
        assert_eq!(t.expires, 600);
        assert!(t.registers());
        assert!(!format!("{t:?}").contains("pw"));
        let t = TrunkConfig::parse("name=p,host=127.0.0.1:5070").unwrap();
        assert!(!t.registers());
        assert_eq!(t.domain(), "127.0.0.1:5070");
        assert!(TrunkConfig::parse("host=127.0.0.1:5070").is_err());
        assert!(TrunkConfig::parse("name=p,host=no_where").is_err());
        assert!(TrunkConfig::parse("name=p,host=127.0.0.1:1,port=2").is_err());
        assert!(TrunkConfig::parse("name=p,host=h:5060,register=yes").is_err());
        assert!(TrunkConfig::parse("name=p,host=h:5060,expires=5").is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let mut t = TrunkConfig::new("p", "sip.example:5060");
        assert_eq!(t.validate(), Ok(()));
        t.allow = vec!["198.51.100.7".into(), "nowhere".into()];
        assert_eq!(t.validate().unwrap_err().field, "allow[1]");
        t.allow.clear();
        t.outbound_proxy = Some("proxy:99999".into());
        assert_eq!(t.validate().unwrap_err().field, "outbound_proxy");
        t.outbound_proxy = None;
        t.number = Some("call me".into());
        assert_eq!(t.validate().unwrap_err().field, "number");
        let list = vec![TrunkConfig::new("a", "h1"), TrunkConfig::new("a", "h2")];
        let (i, e) = validate_trunks(&list).unwrap_err();
        assert_eq!((i, e.field.as_str()), (1, "name"));
    }

    #[test]
    fn host_and_port_forms() {
        assert_eq!(
            split_host_port("10.0.0.1:5070"),
            Ok(("10.0.0.1".into(), 5070))
        );
        assert_eq!(split_host_port("10.0.0.1"), Ok(("10.0.0.1".into(), 5060)));
        assert_eq!(split_host_port("[::1]:5070"), Ok(("::1".into(), 5070)));
        assert_eq!(
            split_host_port("SIP.Example"),
            Ok(("sip.example".into(), 5060))
        );
        assert!(split_host_port("sip.example:0").is_err());
        assert!(split_host_port("").is_err());
    }

    #[test]
    fn allow_defaults_to_host_and_proxy() {
        let t = Trunk::literal(TrunkConfig::new("p", "127.0.0.1:5070"));
        assert!(t.allows("127.0.0.1:5070".parse().unwrap()));
        assert!(!t.allows("127.0.0.1:5071".parse().unwrap()));
        assert!(!t.allows("127.0.0.2:5070".parse().unwrap()));
        let mut config = TrunkConfig::new("p", "192.0.2.1:5060");
        config.outbound_proxy = Some("192.0.2.9:5080".into());
        let t = Trunk::literal(config.clone());
        assert_eq!(t.destination, "192.0.2.9:5080".parse().unwrap());
        assert!(t.allows("192.0.2.9:5080".parse().unwrap()));
        config.allow = vec!["198.51.100.7".into(), "198.51.100.8:5061".into()];
        let t = Trunk::literal(config);
        assert!(!t.allows("192.0.2.1:5060".parse().unwrap()));
        assert!(t.allows("198.51.100.7:1234".parse().unwrap()));
        assert!(t.allows("198.51.100.8:5061".parse().unwrap()));
        assert!(!t.allows("198.51.100.8:5060".parse().unwrap()));
    }

    #[tokio::test]
    async fn resolves_names() {
        let t = Trunk::resolve(TrunkConfig::new("p", "localhost:5070"))
            .await
            .unwrap();
        assert!(t.host.ip().is_loopback());
        assert_eq!(t.host.port(), 5070);
        assert!(
            Trunk::resolve(TrunkConfig::new("p", "nonexistent.invalid:5060"))
                .await
                .is_err()
        );
    }

    #[test]
    fn numbers_match_by_digits() {
        assert!(same_number("+49 30 123456", "4930123456"));
        assert!(!same_number("+4930123456", "+4930123457"));
        assert!(!same_number("", ""));
    }
}
