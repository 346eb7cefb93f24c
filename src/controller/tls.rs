//! TLS to a member cluster, as its KubeFedCluster asks: trust `spec.caBundle` (or the system
//! roots when it is empty) and skip the checks named in `spec.disabledTLSValidations`.
//!
//! Go (`util.CustomizeCertificateValidation`) turns on `InsecureSkipVerify` and re-runs
//! `x509.Verify` in `VerifyPeerCertificate` with the name cleared (`SubjectName`) or the clock
//! set to the leaf's `notBefore + 1s` (`ValidityPeriod`); `*` skips verification. Here the same
//! three rules are a rustls [`ServerCertVerifier`]. Every mode, `*` included, still checks the
//! handshake signatures against the presented certificate, as Go's crypto/tls does.

use std::sync::{Arc, OnceLock};

use anyhow::{Context as _, Result, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor, verify_server_name,
};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::api::TlsValidation;

/// A rustls client configuration for a member cluster's API server.
///
/// `ca_bundle` is `spec.caBundle` (PEM, already base64-decoded); `None` or empty means the
/// system roots, as Go leaves `RootCAs` nil. `disabled` is `spec.disabledTLSValidations`.
///
/// ALPN offers `h2` and `http/1.1`. NB: hyper-rustls refuses a configuration with ALPN set
/// (it sets it from the enabled HTTP versions), so
/// [`build_client_with_tls`](crate::kubeconfig::build_client_with_tls) clears it again.
pub fn client_config(
    ca_bundle: Option<&[u8]>,
    disabled: &[TlsValidation],
) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = server_verifier(ca_bundle, disabled, &provider)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("failed to set up TLS with the ring crypto provider")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The certificate check of [`client_config`].
fn server_verifier(
    ca_bundle: Option<&[u8]>,
    disabled: &[TlsValidation],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>> {
    let algorithms = provider.signature_verification_algorithms;
    if disabled.contains(&TlsValidation::All) {
        return Ok(Arc::new(MemberCertVerifier {
            mode: Mode::AcceptAny,
            algorithms,
        }));
    }
    let roots = Arc::new(root_store(ca_bundle)?);
    let check_name = !disabled.contains(&TlsValidation::SubjectName);
    let at_not_before = disabled.contains(&TlsValidation::ValidityPeriod);
    if check_name && !at_not_before {
        // Nothing disabled: rustls' own verifier, as kube builds it.
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .context("failed to set up TLS certificate verification")?;
        return Ok(verifier);
    }
    Ok(Arc::new(MemberCertVerifier {
        mode: Mode::Verify {
            roots,
            check_name,
            at_not_before,
        },
        algorithms,
    }))
}

/// The trust anchors: the PEM certificates of `ca_bundle`, or the system roots.
fn root_store(ca_bundle: Option<&[u8]>) -> Result<RootCertStore> {
    match ca_bundle.filter(|pem| !pem.is_empty()) {
        Some(pem) => {
            let certs = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .context("failed to read spec.caBundle as PEM")?;
            let mut roots = RootCertStore::empty();
            let (added, skipped) = roots.add_parsable_certificates(certs);
            if added == 0 {
                bail!(
                    "spec.caBundle holds no usable CA certificate ({skipped} could not be parsed)"
                );
            }
            if skipped > 0 {
                // As Go's `AppendCertsFromPEM`, which skips what it cannot parse.
                tracing::warn!(skipped, "ignored unparsable certificates in spec.caBundle");
            }
            Ok(roots)
        }
        None => {
            let roots = system_roots();
            if roots.is_empty() {
                bail!(
                    "spec.caBundle is empty and no system root certificates were found \
                     (install the ca-certificates package, or set spec.caBundle)"
                );
            }
            Ok(roots.clone())
        }
    }
}

/// The platform's trusted roots, read once per process.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(%error, "failed to read some system root certificates");
        }
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(found.certs);
        roots
    })
}

#[derive(Debug)]
enum Mode {
    /// `*`: any certificate.
    AcceptAny,
    /// The chain must lead to `roots`; the name and the clock as configured.
    Verify {
        roots: Arc<RootCertStore>,
        /// Check the leaf against the server name (off with `SubjectName`).
        check_name: bool,
        /// Check validity as of the leaf's `notBefore + 1s` (on with `ValidityPeriod`).
        at_not_before: bool,
    },
}

#[derive(Debug)]
struct MemberCertVerifier {
    mode: Mode,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for MemberCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Mode::Verify {
            roots,
            check_name,
            at_not_before,
        } = &self.mode
        else {
            return Ok(ServerCertVerified::assertion());
        };
        let now = if *at_not_before {
            let not_before = not_before(end_entity).ok_or(rustls::Error::InvalidCertificate(
                CertificateError::BadEncoding,
            ))?;
            // Go: `opts.CurrentTime = certs[0].NotBefore.Add(time.Second)`.
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(not_before.saturating_add(1)).unwrap_or(0),
            ))
        } else {
            now
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if *check_name {
            verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
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

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The `notBefore` of a DER X.509 certificate, in seconds since the Unix epoch (negative
/// before 1970); `None` when the DER is not a certificate this walk understands.
///
/// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
/// signature, issuer, validity SEQUENCE { notBefore Time, notAfter Time }, ... }, ... }
/// (RFC 5280 §4.1). webpki parses the validity too but does not expose it.
fn not_before(der: &[u8]) -> Option<i64> {
    const SEQUENCE: u8 = 0x30;
    const VERSION: u8 = 0xa0;
    const INTEGER: u8 = 0x02;
    let (certificate, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(certificate, SEQUENCE)?;
    let tbs = match tlv(tbs)? {
        (VERSION, _, rest) => rest,
        _ => tbs,
    };
    let (_serial, rest) = expect(tbs, INTEGER)?;
    let (_signature, rest) = expect(rest, SEQUENCE)?;
    let (_issuer, rest) = expect(rest, SEQUENCE)?;
    let (validity, _) = expect(rest, SEQUENCE)?;
    let (tag, time, _) = tlv(validity)?;
    parse_time(tag, time)
}

/// One DER element: (tag, contents, what follows). Only single-byte tags and definite
/// lengths, which is all DER allows for the elements read here.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let (bytes, rest) = rest.split_at(octets);
        let len = bytes
            .iter()
            .fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match tlv(input)? {
        (found, contents, rest) if found == tag => Some((contents, rest)),
        _ => None,
    }
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950-2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`), as DER
/// requires them, to seconds since the Unix epoch.
fn parse_time(tag: u8, text: &[u8]) -> Option<i64> {
    const UTC_TIME: u8 = 0x17;
    const GENERALIZED_TIME: u8 = 0x18;
    let (year, rest) = match tag {
        UTC_TIME => {
            let yy = digits(text.get(..2)?)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME => (digits(text.get(..4)?)?, &text[4..]),
        _ => return None,
    };
    if rest.len() != 11 || rest[10] != b'Z' {
        return None;
    }
    let field = |i: usize| digits(&rest[i..i + 2]);
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // DER allows a leap second (60).
    if second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn digits(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// Certificates made by `openssl` once per test run (EC P-256, fast to generate).
    struct Pki {
        ca_pem: Vec<u8>,
        /// Signed by `ca`, for `member.example` and 127.0.0.1, valid for a year from now.
        server: Vec<u8>,
        server_key_pem: Vec<u8>,
        /// Signed by another CA, for `member.example`.
        foreign: Vec<u8>,
        foreign_key_pem: Vec<u8>,
    }

    fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("these tests need the `openssl` command");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn ca(dir: &Path, name: &str) {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
                "-days",
                "3650",
                "-subj",
                &format!("/CN={name}"),
            ],
        );
    }

    fn leaf(dir: &Path, name: &str, ca: &str) {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            "subjectAltName=DNS:member.example,IP:127.0.0.1\n\
             basicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature\n\
             extendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                "/CN=member.example",
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.crt"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-days",
                "365",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }

    fn pki() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            ca(d, "ca");
            ca(d, "other-ca");
            leaf(d, "server", "ca");
            leaf(d, "foreign", "other-ca");
            let read = |f: &str| std::fs::read(d.join(f)).unwrap();
            let der = |f: &str| CertificateDer::from_pem_slice(&read(f)).unwrap().to_vec();
            Pki {
                ca_pem: read("ca.crt"),
                server: der("server.crt"),
                server_key_pem: read("server.key"),
                foreign: der("foreign.crt"),
                foreign_key_pem: read("foreign.key"),
            }
        })
    }

    fn verify(
        disabled: &[TlsValidation],
        cert: &[u8],
        name: &str,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        server_verifier(Some(&pki().ca_pem), disabled, &provider)
            .unwrap()
            .verify_server_cert(
                &CertificateDer::from(cert.to_vec()),
                &[],
                &ServerName::try_from(name.to_string()).unwrap(),
                &[],
                now,
            )
            .map(|_| ())
    }

    const NONE: &[TlsValidation] = &[];
    const ALL: &[TlsValidation] = &[TlsValidation::All];
    const SUBJECT: &[TlsValidation] = &[TlsValidation::SubjectName];
    const VALIDITY: &[TlsValidation] = &[TlsValidation::ValidityPeriod];
    const BOTH: &[TlsValidation] = &[TlsValidation::SubjectName, TlsValidation::ValidityPeriod];

    fn in_ten_years() -> UnixTime {
        UnixTime::since_unix_epoch(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                + std::time::Duration::from_secs(10 * 365 * 86_400),
        )
    }

    #[test]
    fn a_valid_certificate_passes_every_mode() {
        for disabled in [NONE, ALL, SUBJECT, VALIDITY, BOTH] {
            verify(disabled, &pki().server, "member.example", UnixTime::now())
                .unwrap_or_else(|e| panic!("{disabled:?}: {e}"));
            verify(disabled, &pki().server, "127.0.0.1", UnixTime::now())
                .unwrap_or_else(|e| panic!("{disabled:?} by IP: {e}"));
        }
    }

    #[test]
    fn a_certificate_for_another_name_passes_only_without_the_name_check() {
        let wrong = "api.elsewhere.example";
        for (disabled, passes) in [
            (NONE, false),
            (VALIDITY, false),
            (SUBJECT, true),
            (BOTH, true),
            (ALL, true),
        ] {
            let result = verify(disabled, &pki().server, wrong, UnixTime::now());
            assert_eq!(result.is_ok(), passes, "{disabled:?}: {result:?}");
        }
        let error = verify(NONE, &pki().server, wrong, UnixTime::now()).unwrap_err();
        assert!(
            matches!(
                error,
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{error:?}"
        );
    }

    #[test]
    fn an_expired_certificate_passes_only_without_the_validity_check() {
        for (disabled, passes) in [
            (NONE, false),
            (SUBJECT, false),
            (VALIDITY, true),
            (BOTH, true),
            (ALL, true),
        ] {
            let result = verify(disabled, &pki().server, "member.example", in_ten_years());
            assert_eq!(result.is_ok(), passes, "{disabled:?}: {result:?}");
        }
        // ValidityPeriod moves the clock, nothing else: the name is still checked.
        assert!(verify(VALIDITY, &pki().server, "wrong.example", in_ten_years()).is_err());
    }

    #[test]
    fn a_certificate_from_another_ca_passes_only_with_star() {
        for (disabled, passes) in [
            (NONE, false),
            (SUBJECT, false),
            (VALIDITY, false),
            (BOTH, false),
            (ALL, true),
        ] {
            let result = verify(disabled, &pki().foreign, "member.example", UnixTime::now());
            assert_eq!(result.is_ok(), passes, "{disabled:?}: {result:?}");
        }
    }

    #[test]
    fn a_ca_bundle_without_certificates_is_an_error() {
        let error = client_config(Some(b"not a PEM"), NONE).unwrap_err();
        assert!(format!("{error:#}").contains("spec.caBundle"), "{error:#}");
        // `*` needs no roots at all.
        client_config(Some(b"not a PEM"), ALL).unwrap();
    }

    #[test]
    fn alpn_offers_h2_then_http1() {
        let config = client_config(Some(&pki().ca_pem), NONE).unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    /// Serves `cert` with `key`, matching or not: rustls' `with_single_cert` would refuse a
    /// mismatched pair, which is what the `*` signature test needs.
    #[derive(Debug)]
    struct Fixed(Arc<rustls::sign::CertifiedKey>);

    impl rustls::server::ResolvesServerCert for Fixed {
        fn resolve(
            &self,
            _: rustls::server::ClientHello<'_>,
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            Some(self.0.clone())
        }
    }

    /// A full handshake in memory: the verifier is wired in and `*` still checks signatures.
    fn handshake(
        client: rustls::ClientConfig,
        cert: &[u8],
        key_pem: &[u8],
    ) -> Result<(), rustls::Error> {
        use rustls::pki_types::PrivateKeyDer;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = provider
            .key_provider
            .load_private_key(PrivateKeyDer::from_pem_slice(key_pem).unwrap())
            .unwrap();
        let certified =
            rustls::sign::CertifiedKey::new(vec![CertificateDer::from(cert.to_vec())], key);
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
        server.alpn_protocols = vec![b"h2".to_vec()];
        let mut server = rustls::ServerConnection::new(Arc::new(server)).unwrap();
        let name = ServerName::try_from("member.example").unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
        for _ in 0..10 {
            if !client.is_handshaking() && !server.is_handshaking() {
                assert_eq!(client.alpn_protocol(), Some(&b"h2"[..]));
                return Ok(());
            }
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).unwrap();
            }
            server.read_tls(&mut buf.as_slice()).unwrap();
            server.process_new_packets()?;
            let mut buf = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut buf).unwrap();
            }
            client.read_tls(&mut buf.as_slice()).unwrap();
            client.process_new_packets()?;
        }
        panic!("the handshake did not finish");
    }

    #[test]
    fn handshakes_follow_the_same_rules() {
        let p = pki();
        let config = |disabled| client_config(Some(&p.ca_pem), disabled).unwrap();
        handshake(config(NONE), &p.server, &p.server_key_pem).unwrap();
        assert!(handshake(config(NONE), &p.foreign, &p.foreign_key_pem).is_err());
        handshake(config(ALL), &p.foreign, &p.foreign_key_pem).unwrap();
        // `*` accepts any certificate but not a server without its private key.
        let error = handshake(config(ALL), &p.foreign, &p.server_key_pem).unwrap_err();
        assert!(
            matches!(
                error,
                rustls::Error::InvalidCertificate(CertificateError::BadSignature)
            ),
            "{error:?}"
        );
    }

    /// An HTTPS server on loopback answering `ok` to everything, with `cert` and `key`.
    async fn https_server(cert: &[u8], key_pem: &[u8]) -> std::net::SocketAddr {
        use rustls::pki_types::PrivateKeyDer;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.to_vec())],
                PrivateKeyDer::from_pem_slice(key_pem).unwrap(),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new("ok".to_string()))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        addr
    }

    async fn get_through_kube(
        url: &str,
        disabled: &[TlsValidation],
    ) -> Result<String, kube::Error> {
        let config = kube::Config::new(url.parse().unwrap());
        let tls = client_config(Some(&pki().ca_pem), disabled).unwrap();
        let client = crate::kubeconfig::build_client_with_tls(
            &config,
            tls,
            crate::kubeconfig::Protocol::Multiplexed,
        )?;
        client
            .request_text(http::Request::get("/version").body(Vec::new()).unwrap())
            .await
    }

    /// Through `build_client_with_tls`, end to end. (Also a regression test: hyper-rustls
    /// panics on a TLS config with ALPN set, and `client_config` sets it.)
    #[tokio::test]
    async fn kube_clients_built_with_it_verify_as_configured() {
        let p = pki();
        let server = https_server(&p.server, &p.server_key_pem).await;
        let port = server.port();
        let by_ip = format!("https://127.0.0.1:{port}");
        assert_eq!(get_through_kube(&by_ip, NONE).await.unwrap(), "ok");
        // `localhost` is not in the certificate.
        let by_name = format!("https://localhost:{port}");
        assert!(get_through_kube(&by_name, NONE).await.is_err());
        assert_eq!(get_through_kube(&by_name, SUBJECT).await.unwrap(), "ok");

        let foreign = https_server(&p.foreign, &p.foreign_key_pem).await;
        let foreign = format!("https://127.0.0.1:{}", foreign.port());
        assert!(get_through_kube(&foreign, BOTH).await.is_err());
        assert_eq!(get_through_kube(&foreign, ALL).await.unwrap(), "ok");
    }

    #[test]
    fn not_before_reads_utc_and_generalized_times() {
        let not_before_now = not_before(&pki().server).unwrap();
        let now = i64::try_from(UnixTime::now().as_secs()).unwrap();
        assert!(
            (now - 120..=now + 1).contains(&not_before_now),
            "{not_before_now} vs {now}"
        );

        assert_eq!(parse_time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(parse_time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(parse_time(0x17, b"500101000000Z"), Some(-631_152_000));
        assert_eq!(parse_time(0x18, b"20240229120000Z"), Some(1_709_208_000));
        assert_eq!(parse_time(0x18, b"99991231235959Z"), Some(253_402_300_799));
        for bad in [
            &b"2402291200Z"[..],
            b"240229120000",
            b"24022912000aZ",
            b"241329120000Z",
        ] {
            assert_eq!(parse_time(0x17, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn not_before_never_panics_on_truncated_or_odd_der() {
        let cert = &pki().server;
        for len in 0..cert.len() {
            let _ = not_before(&cert[..len]);
        }
        assert_eq!(not_before(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(not_before(&[0x30, 0x80]), None);
        assert_eq!(not_before(&[0x1f, 0x00]), None);
        let mut flipped = cert.clone();
        for i in 0..flipped.len().min(64) {
            flipped[i] ^= 0xff;
            let _ = not_before(&flipped);
            flipped[i] ^= 0xff;
        }
    }
}
