//! TLS client configurations shared by every run: one that verifies against
//! the system roots plus the operator's extra CAs, and one that does not
//! verify (for checks that set `tls-verify: false`).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The agent's TLS client configurations.
#[derive(Debug, Clone)]
pub(crate) struct TlsConfigs {
    pub(crate) verified: Arc<ClientConfig>,
    pub(crate) unverified: Arc<ClientConfig>,
}

impl TlsConfigs {
    /// System roots plus the PEM certificates in `extra_ca_files`.
    pub(crate) fn new(extra_ca_files: &[impl AsRef<Path>]) -> anyhow::Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            // A malformed system certificate is skipped, as browsers do.
            let _ = roots.add(cert);
        }
        for file in extra_ca_files {
            let file = file.as_ref();
            let mut added = 0;
            for cert in CertificateDer::pem_file_iter(file)
                .with_context(|| format!("reading CA file {}", file.display()))?
            {
                let cert = cert.with_context(|| format!("parsing CA file {}", file.display()))?;
                roots.add(cert).with_context(|| {
                    format!("adding a certificate of CA file {}", file.display())
                })?;
                added += 1;
            }
            anyhow::ensure!(added > 0, "CA file {} holds no certificate", file.display());
        }
        let verified = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("configuring TLS")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let unverified = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("configuring TLS")?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
            .with_no_client_auth();
        Ok(TlsConfigs {
            verified: Arc::new(verified),
            unverified: Arc::new(unverified),
        })
    }
}

/// Accepts any certificate, still checking handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
