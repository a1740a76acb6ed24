//! The HTTPS server of the conversion webhook: `POST /convert` with a `ConversionReview`,
//! answered by [`super::review::respond`]. The certificate can be swapped while serving
//! (rotation): each new connection takes the current one.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::review;

/// Largest request body accepted: a list conversion carries every object of the list.
const MAX_BODY: usize = 64 << 20;
/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The serving certificate in use, replaceable while serving.
#[derive(Clone)]
pub struct Tls(Arc<RwLock<Arc<ServerConfig>>>);

impl Tls {
    /// A server configuration for a PEM certificate chain and private key.
    pub fn new(cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        Ok(Self(Arc::new(RwLock::new(server_config(
            cert_pem, key_pem,
        )?))))
    }

    /// Serves `cert_pem`/`key_pem` to every connection from now on.
    pub fn replace(&self, cert_pem: &str, key_pem: &str) -> Result<(), String> {
        let config = server_config(cert_pem, key_pem)?;
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }

    fn current(&self) -> Arc<ServerConfig> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>, String> {
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the serving certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("the serving key: {e}"))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("the serving certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Binds `addr` and serves the webhook until the task is dropped; returns the bound address.
pub async fn serve(addr: SocketAddr, tls: Tls) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = TlsAcceptor::from(tls.current());
            tokio::spawn(async move {
                let Ok(Ok(stream)) =
                    tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                else {
                    return;
                };
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(handle))
                    .await;
            });
        }
    });
    Ok(bound)
}

async fn handle(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() != crate::api::crd::WEBHOOK_PATH {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".into(),
        ));
    }
    if req.method() != Method::POST {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "POST a ConversionReview\n".into(),
        ));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                "text/plain",
                format!("reading the request: {e}\n").into(),
            ));
        }
    };
    // Conversion is CPU work (~0.3 ms a graph): off the I/O threads for big lists.
    let answer = tokio::task::spawn_blocking(move || review::respond(&body)).await;
    Ok(match answer {
        Ok(Ok(review)) => {
            let bytes = serde_json::to_vec(&review).expect("a review serialises");
            reply(StatusCode::OK, "application/json", bytes)
        }
        Ok(Err(message)) => reply(
            StatusCode::BAD_REQUEST,
            "text/plain",
            format!("{message}\n").into(),
        ),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            format!("conversion failed: {e}\n").into(),
        ),
    })
}

fn reply(code: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = code;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        content_type.parse().expect("a valid header value"),
    );
    response
}
