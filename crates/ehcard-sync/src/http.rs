//! The HTTP transport (feature `http`): ureq with rustls. Certificates are
//! verified against the web's roots, or against one given certificate
//! authority for a private registry. The engine in [`crate::client`] never
//! depends on this module.

use std::time::Duration;

use crate::client::{Transport, TransportError};
use crate::codec::MAX_BODY;
use ureq::Agent;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

pub struct Http {
    agent: Agent,
    base: String,
}

impl Http {
    pub fn new(base: &str, ca_pem: Option<&str>) -> Result<Http, TransportError> {
        let mut tls = TlsConfig::builder();
        if let Some(pem) = ca_pem {
            let cert = Certificate::from_pem(pem.as_bytes())
                .map_err(|e| TransportError::Untrusted(format!("the certificate authority file is not PEM: {e}")))?;
            tls = tls.root_certs(RootCerts::new_with_certs(&[cert]));
        }
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_global(Some(Duration::from_secs(300)))
            .tls_config(tls.build())
            .build();
        Ok(Http { agent: Agent::new_with_config(config), base: base.trim_end_matches('/').to_string() })
    }
}

fn classify(e: ureq::Error) -> TransportError {
    match e {
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::Timeout(_) => {
            TransportError::Unreachable(e.to_string())
        }
        ureq::Error::Io(ref io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            TransportError::Unreachable(e.to_string())
        }
        // rustls reports a certificate it cannot verify as invalid data.
        ureq::Error::Io(ref io) if io.kind() == std::io::ErrorKind::InvalidData => {
            TransportError::Untrusted(io.to_string())
        }
        other => TransportError::Broken(other.to_string()),
    }
}

impl Transport for Http {
    fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: &[(&'static str, String)],
    ) -> Result<(u16, Vec<u8>), TransportError> {
        let url = format!("{}{path}", self.base);
        let resp = if method == "GET" {
            let mut req = self.agent.get(&url);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            req.call()
        } else {
            let mut req =
                self.agent.post(&url).header("content-type", "application/json").header("content-encoding", "gzip");
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            req.send(&body[..])
        };
        let mut resp = resp.map_err(classify)?;
        let status = resp.status().as_u16();
        let bytes = resp.body_mut().with_config().limit(MAX_BODY as u64).read_to_vec().map_err(classify)?;
        Ok((status, bytes))
    }
}
