//! `ringbase serve`: config → store → CRM → event bus and webhooks → HTTP. Wiring only.

use crate::GlobalArgs;
use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use store::Store;

pub(crate) struct ServeConfig {
    pub(crate) global: GlobalArgs,
    pub(crate) http: SocketAddr,
    /// SIP listen addresses; none: no SIP service.
    pub(crate) sip: Vec<SocketAddr>,
    pub(crate) sip_realm: String,
    pub(crate) sip_digest_algorithms: Vec<sip_net::DigestAlgorithm>,
    pub(crate) sip_registrar: sip_net::RegistrarConfig,
    /// Trunks: who may send us calls, where external calls go.
    pub(crate) sip_trunks: Vec<sip_net::TrunkConfig>,
    /// The address calls advertise (default: the first SIP listening address).
    pub(crate) sip_public: Option<SocketAddr>,
}

/// How often the SIP service's routing settings are compared with the stored ones (a
/// `PUT /api/v1/settings/routing` takes effect within this).
const ROUTING_RELOAD: Duration = Duration::from_secs(1);

/// The host name, else "ringbase" (the digest realm when `--sip-realm` is not given).
pub(crate) fn default_sip_realm() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| api::DEFAULT_SIP_REALM.to_string())
}

/// The embedded SQLite file under `--data-dir`, or PostgreSQL when `--database-url` is given.
pub(crate) async fn open_store(global: &GlobalArgs) -> anyhow::Result<Arc<dyn Store>> {
    let store = match &global.database_url {
        Some(url) => store_sql::SqlStore::open(url)
            .await
            .with_context(|| "opening the database given by --database-url")?,
        None => {
            std::fs::create_dir_all(&global.data_dir).with_context(|| {
                format!("creating the data directory {}", global.data_dir.display())
            })?;
            let path = global.data_dir.join("ringbase.db");
            store_sql::SqlStore::open_sqlite_file(&path)
                .await
                .with_context(|| format!("opening {}", path.display()))?
        }
    };
    Ok(Arc::new(store))
}

pub(crate) async fn run(
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = open_store(&config.global).await?;
    let bus = events::EventBus::default();
    let crm = Arc::new(crm::Crm::new(
        store.clone(),
        config.global.default_region,
        bus.clone(),
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let webhooks = events::webhooks::WebhookDispatcher::new(store.clone(), Default::default())
        .spawn(&bus, Duration::from_secs(1), wait_for_stop(stop_rx.clone()));
    let state = api::AppState::new(crm.clone(), config.global.data_dir.clone());
    // Registrations are shared by the SIP service and the API; the realm is needed by the API
    // (SIP passwords are hashed with it) even when SIP is off.
    let registry = sip_net::Registry::new(&config.sip_realm, config.sip_registrar);
    state.set_sip(registry.clone());
    let trunk_status = sip_net::Trunks::new(config.sip_trunks.clone());
    state.set_trunks(trunk_status.clone());
    let sip = if config.sip.is_empty() {
        None
    } else {
        let mut sip_config = sip_net::SipConfig::new(config.sip.clone());
        sip_config.auth.algorithms = config.sip_digest_algorithms.clone();
        sip_config.public = config.sip_public;
        let routing = watch_routing_settings(store.clone(), wait_for_stop(stop_rx.clone()))
            .await
            .with_context(|| "loading the routing settings")?;
        let trunks = watch_trunk_settings(
            store.clone(),
            config.sip_trunks.clone(),
            wait_for_stop(stop_rx.clone()),
        )
        .await
        .with_context(|| "loading the trunks")?;
        let calls = sip_net::CallServices {
            crm: crm.clone(),
            routing,
            trunks,
            trunk_status,
        };
        let service = sip_net::start_with_calls(
            sip_config,
            registry,
            store.clone(),
            Some(calls),
            wait_for_stop(stop_rx.clone()),
        )
        .await
        .with_context(|| format!("binding SIP to {:?}", config.sip))?;
        for (protocol, addr) in service.local_addrs() {
            tracing::info!(sip = %addr, transport = %protocol, realm = %config.sip_realm, "SIP is listening");
        }
        Some(service)
    };
    let listener = tokio::net::TcpListener::bind(config.http)
        .await
        .with_context(|| format!("binding HTTP to {}", config.http))?;
    tracing::info!(
        http = %listener.local_addr()?,
        backend = store.backend(),
        region = %config.global.default_region,
        "Ringbase is serving"
    );
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
        })
        .await?;
    let _ = stop_tx.send(true);
    let _ = webhooks.await;
    if let Some(sip) = sip {
        sip.stopped().await;
    }
    Ok(())
}

/// The stored routing settings now, and a task that publishes them again whenever the stored
/// text changes (checked every [`ROUTING_RELOAD`]): one cheap read of one setting.
async fn watch_routing_settings(
    store: Arc<dyn Store>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<tokio::sync::watch::Receiver<routing::RoutingConfig>> {
    let stored = store
        .get_setting(api::routing_settings::SETTING_KEY)
        .await?;
    let initial = match api::routing_settings::load(store.as_ref()).await {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!(error = %e.message, "stored routing settings unusable; routing nothing");
            routing::RoutingConfig::default()
        }
    };
    let (tx, rx) = tokio::sync::watch::channel(initial);
    tokio::spawn(async move {
        tokio::pin!(stop);
        let mut last = stored;
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(ROUTING_RELOAD) => {}
            }
            let now = match store.get_setting(api::routing_settings::SETTING_KEY).await {
                Ok(now) => now,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the routing settings failed");
                    continue;
                }
            };
            if now == last {
                continue;
            }
            match api::routing_settings::load(store.as_ref()).await {
                Ok(settings) => {
                    last = now;
                    if tx.send(settings).is_err() {
                        return;
                    }
                }
                Err(e) => tracing::error!(error = %e.message, "stored routing settings unusable"),
            }
        }
    });
    Ok(rx)
}

/// The trunks in use: the command line's first, then the stored ones; published again
/// whenever the stored list changes (checked every [`ROUTING_RELOAD`], like the routing).
async fn watch_trunk_settings(
    store: Arc<dyn Store>,
    cli: Vec<sip_net::TrunkConfig>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<tokio::sync::watch::Receiver<Vec<sip_net::TrunkConfig>>> {
    let key = api::trunk_settings::SETTING_KEY;
    let with_cli = move |stored: Vec<sip_net::TrunkConfig>| -> Vec<sip_net::TrunkConfig> {
        cli.iter()
            .cloned()
            .chain(
                stored
                    .into_iter()
                    .filter(|t| !cli.iter().any(|c| c.name == t.name)),
            )
            .collect()
    };
    let mut last = store.get_setting(key).await?;
    let initial = match api::trunk_settings::load(store.as_ref()).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::error!(error = %e.message, "stored trunks unusable; using the command line's");
            Vec::new()
        }
    };
    let (tx, rx) = tokio::sync::watch::channel(with_cli(initial));
    tokio::spawn(async move {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(ROUTING_RELOAD) => {}
            }
            let now = match store.get_setting(key).await {
                Ok(now) => now,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the trunks failed");
                    continue;
                }
            };
            if now == last {
                continue;
            }
            match api::trunk_settings::load(store.as_ref()).await {
                Ok(stored) => {
                    last = now;
                    tracing::info!(trunks = stored.len(), "trunks reloaded");
                    if tx.send(with_cli(stored)).is_err() {
                        return;
                    }
                }
                Err(e) => tracing::error!(error = %e.message, "stored trunks unusable"),
            }
        }
    });
    Ok(rx)
}

async fn wait_for_stop(mut stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
