//! HTTPS with rustls (no OpenSSL): the platform's root certificates by
//! default, a private CA with `--cacert`, or no verification at all with
//! `--insecure` (said in the report). SNI comes from the host name.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How the server's certificate is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust only the CA certificates in this PEM file.
    pub cacert: Option<std::path::PathBuf>,
    /// Do not verify the certificate at all.
    pub insecure: bool,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("--cacert {0}: {1}")]
    CaFile(String, String),
    #[error("{0}")]
    File(#[from] crate::files::FileError),
    #[error("--cacert {0}: no certificate in it")]
    CaEmpty(String),
    #[error("no root certificates on this machine ({0}); give --cacert FILE")]
    NoRoots(String),
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// The client configuration for `opts` (HTTP/1.1 over ALPN).
pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let mut config = if opts.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots(opts.cacert.as_deref())?)
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn roots(cacert: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match cacert {
        Some(p) => {
            let name = common::text::escape_str(&p.display().to_string());
            let pem = crate::files::read(p, "--cacert", crate::files::CACERT_CAP)?;
            let certs = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| TlsError::CaFile(name.clone(), e.to_string()))?;
            if certs.is_empty() {
                return Err(TlsError::CaEmpty(name));
            }
            for c in certs {
                store
                    .add(c)
                    .map_err(|e| TlsError::CaFile(name.clone(), e.to_string()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map_or_else(|| "none found".to_string(), ToString::to_string);
                return Err(TlsError::NoRoots(why));
            }
        }
    }
    Ok(store)
}

/// Why `opts` do nothing for an `http://` host, when they were given.
pub fn plain_http_warning(opts: &TlsOptions) -> Option<&'static str> {
    match (opts.cacert.is_some(), opts.insecure) {
        (true, _) => Some("--cacert is ignored: the host is http://, not https://"),
        (_, true) => Some("--insecure is ignored: the host is http://, not https://"),
        _ => None,
    }
}

/// The name sent as SNI and checked against the certificate.
pub fn server_name(host: &str) -> Option<ServerName<'static>> {
    ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_string()).ok()
}

/// `--insecure`: accepts any certificate (signatures are still checked with
/// the provider's algorithms, so the handshake itself is real).
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_a_clear_error() {
        let d = tempfile::tempdir().unwrap();
        let missing = client_config(&TlsOptions {
            cacert: Some(d.path().join("nope.pem")),
            insecure: false,
        });
        assert!(matches!(missing, Err(TlsError::File(..))), "{missing:?}");
        let empty = d.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let r = client_config(&TlsOptions {
            cacert: Some(empty),
            insecure: false,
        });
        assert!(matches!(r, Err(TlsError::CaEmpty(_))), "{r:?}");
        assert!(
            client_config(&TlsOptions {
                cacert: None,
                insecure: true
            })
            .is_ok()
        );
        assert!(server_name("example.com").is_some() && server_name("127.0.0.1").is_some());
    }
}
