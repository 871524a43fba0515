//! The server's API: where it is, the credential, and its errors, which are
//! `application/problem+json` bodies ([`Problem`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use vantage_protocol::ingest::Problem;

use crate::files;

/// Where the server is and who is asking: part of every command that talks to it.
#[derive(Args)]
#[command(next_help_heading = "Server")]
pub(crate) struct ServerArgs {
    /// The server's URL, e.g. https://vantage.example.com.
    #[arg(long, env = "VANTAGE_SERVER", value_name = "URL")]
    server: Url,
    /// An API token (`vt_…`) or a login session (`vs_…`).
    #[arg(long, env = "VANTAGE_TOKEN", hide_env_values = true)]
    token: String,
    /// A PEM file of the CA that signed the server's certificate: trust only it.
    #[arg(long, env = "VANTAGE_CA", value_name = "FILE")]
    ca: Option<PathBuf>,
}

impl ServerArgs {
    pub(crate) fn connect(self) -> Result<Server> {
        if !matches!(self.server.scheme(), "http" | "https") {
            bail!(
                "server URL {} must start with http:// or https://",
                self.server
            );
        }
        // reqwest is built without a crypto provider: ring, as everywhere in
        // Vantage. Installing fails only when one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = Client::builder()
            .user_agent(concat!("vantage/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300));
        if let Some(path) = &self.ca {
            let pem = files::read(path, "CA file")?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("reading CA file {}", path.display()))?;
            if certs.is_empty() {
                bail!("CA file {} holds no PEM certificate", path.display());
            }
            builder = builder.tls_certs_only(certs);
        }
        Ok(Server {
            client: builder.build().context("setting up the HTTP client")?,
            base: self.server,
            token: self.token,
        })
    }
}

/// A server to call, with the credential to call it with.
pub(crate) struct Server {
    client: Client,
    base: Url,
    token: String,
}

impl Server {
    /// `route` (`/api/v1/checks`) and then `segments`, each percent-encoded
    /// as one path segment, below the server's URL.
    pub(crate) fn url(&self, route: &str, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has a path")
            .pop_if_empty()
            .extend(route.trim_start_matches('/').split('/'))
            .extend(segments);
        url
    }

    /// A request with the credential.
    pub(crate) fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.client.request(method, url).bearer_auth(&self.token)
    }

    /// Sends the request: a success answer, or the server's problem as a
    /// [`ProblemError`].
    pub(crate) fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send()?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(ProblemError::read(response).into())
        }
    }

    /// `GET`s and decodes a JSON answer.
    pub(crate) fn get<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        let response = self.send(self.request(Method::GET, url.clone()))?;
        decode(response, &url)
    }
}

/// Decodes a JSON answer, naming the URL when it is not what was expected.
pub(crate) fn decode<T: DeserializeOwned>(response: Response, url: &Url) -> Result<T> {
    response
        .json()
        .with_context(|| format!("the server's answer from {url} is not what this vantage expects"))
}

/// An error answer from the server.
#[derive(Debug)]
pub(crate) struct ProblemError {
    pub(crate) status: StatusCode,
    pub(crate) problem: Problem,
}

impl ProblemError {
    fn read(response: Response) -> ProblemError {
        let status = response.status();
        let body = response.bytes().unwrap_or_default();
        let problem = serde_json::from_slice(&body).unwrap_or_else(|_| {
            // Not from the API (a proxy, another server): what it said, briefly.
            let text = String::from_utf8_lossy(&body);
            let text: String = text.trim().chars().take(200).collect();
            Problem {
                kind: "about:blank".into(),
                title: status.canonical_reason().unwrap_or("Error").into(),
                status: status.as_u16(),
                detail: (!text.is_empty()).then_some(text),
                errors: Vec::new(),
            }
        });
        ProblemError { status, problem }
    }

    /// The status of the server's answer, when `error` is one.
    pub(crate) fn status_of(error: &anyhow::Error) -> Option<StatusCode> {
        error.downcast_ref::<ProblemError>().map(|p| p.status)
    }
}

impl std::error::Error for ProblemError {}

/// `STATUS TITLE: DETAIL`, then each field error on a line of its own. A
/// detail that only repeats the one field error is left out.
impl fmt::Display for ProblemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.problem;
        write!(f, "{} {}", self.status.as_u16(), p.title)?;
        let field_line = |e: &vantage_protocol::ingest::FieldError| match e.index {
            Some(i) => format!("[{i}] {}: {}", e.field, e.reason),
            None => format!("{}: {}", e.field, e.reason),
        };
        if let Some(detail) = &p.detail {
            let repeats_the_field =
                matches!(p.errors.as_slice(), [one] if *detail == field_line(one));
            if !repeats_the_field {
                write!(f, ": {detail}")?;
            }
        }
        for e in &p.errors {
            write!(f, "\n  {}", field_line(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use vantage_protocol::ingest::FieldError;

    use super::*;

    fn problem(status: u16, detail: Option<&str>, errors: &[(&str, &str)]) -> ProblemError {
        let status = StatusCode::from_u16(status).unwrap();
        ProblemError {
            status,
            problem: Problem {
                kind: "about:blank".into(),
                title: status.canonical_reason().unwrap().into(),
                status: status.as_u16(),
                detail: detail.map(Into::into),
                errors: errors
                    .iter()
                    .map(|(field, reason)| FieldError {
                        index: None,
                        field: (*field).into(),
                        reason: (*reason).into(),
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn problems_print_title_detail_and_each_field_on_its_own_line() {
        let p = problem(409, Some("tcp@1.0.0 exists"), &[]);
        assert_eq!(p.to_string(), "409 Conflict: tcp@1.0.0 exists");

        let p = problem(
            422,
            Some("2 fields are invalid"),
            &[
                ("version", "not a semver requirement"),
                ("interval", "too short"),
            ],
        );
        assert_eq!(
            p.to_string(),
            "422 Unprocessable Entity: 2 fields are invalid\n  \
             version: not a semver requirement\n  interval: too short"
        );

        // The server's detail for one field error is that error: once.
        let p = problem(422, Some("version: bad"), &[("version", "bad")]);
        assert_eq!(p.to_string(), "422 Unprocessable Entity\n  version: bad");

        let p = problem(401, None, &[]);
        assert_eq!(p.to_string(), "401 Unauthorized");
    }

    #[test]
    fn urls_keep_the_servers_path_and_encode_each_segment() {
        let server = ServerArgs {
            server: "https://example.com/vantage/".parse().unwrap(),
            token: "vt_x".into(),
            ca: None,
        }
        .connect()
        .unwrap();
        let url = server.url("/api/v1/registry/plugins", &["tcp", "1.0.0+build/x"]);
        assert_eq!(
            url.as_str(),
            "https://example.com/vantage/api/v1/registry/plugins/tcp/1.0.0+build%2Fx"
        );
    }
}
