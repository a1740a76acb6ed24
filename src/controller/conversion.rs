//! Runs the conversion webhook beside the controllers: certificates first, then the HTTPS
//! server, then the CRDs pointed at it; afterwards a loop that renews the certificate, keeps
//! the CRDs' `clientConfig` as it should be and migrates storage once. Every replica does all
//! of it, leader or not: conversion must be available whenever the API server reads a graph.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use kube::Client;

use super::run::RunError;
use crate::cluster::conversion::{
    Endpoint, client_config, ensure_certificate, inject, migrate_storage,
};
use crate::webhook::certs;
use crate::webhook::server::{Tls, serve};

/// How often the certificate, the CRDs and the storage versions are looked at again.
const MAINTENANCE_PERIOD: Duration = Duration::from_secs(60);
/// How soon a failed step (API server busy, webhook not yet reachable) is retried.
const RETRY: Duration = Duration::from_secs(5);

/// Where and how the webhook is served.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Address of the HTTPS server (the Service's target port).
    pub addr: SocketAddr,
    /// Namespace of the Secret and the Service.
    pub namespace: String,
    /// The Service in front of the webhook (also a host name of the certificate).
    pub service: String,
    /// The Secret holding the CA and the serving certificate.
    pub secret: String,
    /// Set when running outside the cluster: the URL the API server calls instead of the
    /// Service (its host is added to the certificate).
    pub url: Option<String>,
}

impl WebhookConfig {
    fn hosts(&self) -> Vec<String> {
        let extra = self
            .url
            .as_deref()
            .and_then(|u| u.parse::<http::Uri>().ok())
            .and_then(|u| u.host().map(|h| h.trim_matches(['[', ']']).to_string()));
        certs::hosts(&self.service, &self.namespace, extra.as_deref())
    }

    fn endpoint(&self) -> Endpoint {
        match &self.url {
            Some(url) => Endpoint::Url(url.clone()),
            None => Endpoint::Service {
                namespace: self.namespace.clone(),
                name: self.service.clone(),
            },
        }
    }
}

/// Starts serving; returns the bound address once the CRDs point at the webhook. Storage
/// migration and renewals go on in the background for the life of the process.
pub async fn start(client: Client, cfg: WebhookConfig) -> Result<SocketAddr, RunError> {
    let hosts = cfg.hosts();
    let startup =
        |e: crate::cluster::ClusterError| RunError::Startup(format!("conversion webhook: {e}"));
    let bundle = ensure_certificate(
        &client,
        &cfg.namespace,
        &cfg.secret,
        &hosts,
        SystemTime::now(),
    )
    .await
    .map_err(startup)?;
    let tls = Tls::new(&bundle.cert, &bundle.key)
        .map_err(|e| RunError::Startup(format!("conversion webhook: {e}")))?;
    let bound = serve(cfg.addr, tls.clone()).await.map_err(|e| {
        RunError::Bind(format!(
            "cannot serve the conversion webhook on {}: {e}",
            cfg.addr
        ))
    })?;
    inject(&client, &client_config(&cfg.endpoint(), &bundle.ca_cert))
        .await
        .map_err(startup)?;
    tracing::info!(%bound, endpoint = ?cfg.endpoint(), "conversion webhook serving");
    tokio::spawn(maintain(client, cfg, tls, bundle));
    Ok(bound)
}

async fn maintain(client: Client, cfg: WebhookConfig, tls: Tls, mut bundle: certs::Bundle) {
    let hosts = cfg.hosts();
    let mut migrated = false;
    loop {
        let mut ok = true;
        if !migrated {
            // The API server needs a moment to pick up a new caBundle; until then listing in
            // the storage version fails, and the next pass tries again.
            match migrate_storage(&client).await {
                Ok(_) => migrated = true,
                Err(e) => {
                    ok = false;
                    tracing::warn!(error = %e, "storage migration to v1beta1 not done yet");
                }
            }
        }
        tokio::time::sleep(if ok { MAINTENANCE_PERIOD } else { RETRY }).await;
        // Renewal, or another replica's renewal: serve whatever the Secret holds now.
        match ensure_certificate(
            &client,
            &cfg.namespace,
            &cfg.secret,
            &hosts,
            SystemTime::now(),
        )
        .await
        {
            Ok(fresh) => {
                if fresh != bundle {
                    if let Err(e) = tls.replace(&fresh.cert, &fresh.key) {
                        tracing::warn!(error = %e, "cannot serve the renewed certificate");
                        continue;
                    }
                    tracing::info!("conversion webhook certificate renewed");
                    bundle = fresh;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot check the webhook certificate"),
        }
        // An upgrade of the CRDs (helm, kubectl apply) may reset their clientConfig.
        if let Err(e) = inject(&client, &client_config(&cfg.endpoint(), &bundle.ca_cert)).await {
            tracing::warn!(error = %e, "cannot configure the CRDs' conversion webhook");
        }
    }
}
