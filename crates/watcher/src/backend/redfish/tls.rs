//! TLS trust for BMCs: a CA bundle (`ca_file`), the system trust store, a pinned certificate per
//! BMC (`pinned_cert_sha256`, the SHA-256 of the DER certificate), or nothing at all
//! (`insecure = true`). Crypto is rustls with the ring provider; TLS 1.2 stays enabled because
//! many BMCs (and sushy-emulator) speak nothing newer.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore};

use super::config::RedfishConfig;
use super::error::BuildError;

/// A SHA-256 digest of a DER certificate.
type Pin = [u8; 32];

/// The rustls client configuration for `cfg`.
pub fn client_config(cfg: &RedfishConfig) -> Result<ClientConfig, BuildError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = if cfg.insecure {
        None
    } else {
        Some(chain_verifier(cfg, &provider)?)
    };
    let listed = match &cfg.ca_file {
        Some(path) => load_certs(path)?,
        None => Vec::new(),
    };
    let mut pins: HashMap<String, Vec<Pin>> = HashMap::new();
    let mut default_pins = Vec::new();
    for (host, text) in cfg.pins()? {
        let pin = parse_pin(&text)?;
        match host {
            Some(host) => pins.entry(host.to_ascii_lowercase()).or_default().push(pin),
            None => default_pins.push(pin),
        }
    }
    let verifier = BmcVerifier {
        pins,
        default_pins,
        chain,
        listed,
        algorithms: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BuildError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}

/// The verifier of the certificate chain: `ca_file` when set, else the system trust store.
fn chain_verifier(
    cfg: &RedfishConfig,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, BuildError> {
    match &cfg.ca_file {
        Some(path) => {
            let roots = load_roots(path)?;
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| BuildError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            Ok(verifier)
        }
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| BuildError::Tls(format!("system trust store: {e}")))?;
            Ok(Arc::new(verifier))
        }
    }
}

fn load_roots(path: &Path) -> Result<RootCertStore, BuildError> {
    let err = |reason: String| BuildError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|e| err(e.to_string()))?;
    }
    Ok(roots)
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, BuildError> {
    let err = |reason: String| BuildError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// Parses 64 hex digits, optionally separated by colons (as `openssl x509 -fingerprint` prints).
pub fn parse_pin(text: &str) -> Result<Pin, BuildError> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    let bad = || BuildError::Invalid(format!("pinned_cert_sha256 {text:?} is not 64 hex digits"));
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut pin = [0u8; 32];
    for (i, byte) in pin.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(pin)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Pins where configured for the host, else the chain verifier, else (insecure) nothing.
/// Handshake signatures are always checked, so even `insecure` talks to the key holder.
struct BmcVerifier {
    pins: HashMap<String, Vec<Pin>>,
    default_pins: Vec<Pin>,
    chain: Option<Arc<dyn ServerCertVerifier>>,
    /// The certificates of `ca_file`, trusted as they are when a BMC presents one of them.
    listed: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl fmt::Debug for BmcVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BmcVerifier")
            .field("pinned_hosts", &self.pins.keys().collect::<Vec<_>>())
            .field("default_pins", &self.default_pins.len())
            .field("insecure", &self.chain.is_none())
            .finish()
    }
}

/// The certificate did not match any pin configured for its host.
struct PinMismatch {
    host: String,
    actual: String,
}

// rustls shows the inner error of `CertificateError::Other` with `Debug`: make it readable.
impl fmt::Debug for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate of {} has sha256 {}, which is not its pinned_cert_sha256",
            self.host, self.actual
        )
    }
}

impl std::error::Error for PinMismatch {}

impl BmcVerifier {
    /// BMC self-signed certificates usually say `CA:TRUE`, which webpki refuses as a server
    /// certificate even when it is the trust anchor itself. A certificate listed verbatim in
    /// `ca_file` is trusted as presented (as OpenSSL and curl do), its names still checked.
    /// Matched on the error's name: should webpki rename it, this fails closed.
    fn is_listed_self_signed_ca(&self, end_entity: &CertificateDer<'_>, e: &rustls::Error) -> bool {
        format!("{e:?}").contains("CaUsedAsEndEntity")
            && self
                .listed
                .iter()
                .any(|c| c.as_ref() == end_entity.as_ref())
    }
}

impl ServerCertVerifier for BmcVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let host = server_name.to_str().to_ascii_lowercase();
        let pins = self.pins.get(&host).unwrap_or(&self.default_pins);
        if !pins.is_empty() {
            let digest = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
            if pins.iter().any(|p| p[..] == *digest.as_ref()) {
                return Ok(ServerCertVerified::assertion());
            }
            let mismatch = PinMismatch {
                host,
                actual: to_hex(digest.as_ref()),
            };
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(mismatch)),
            )));
        }
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(e) if self.is_listed_self_signed_ca(end_entity, &e) => {
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            result => result,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
