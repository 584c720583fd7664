//! `xheaders`: trust a proxy's report of the client's address and scheme.

use std::net::IpAddr;

use bytes::Bytes;

use crate::http1::RequestHead;
use crate::http1connection::HTTP1Connection;
use crate::httputil::{HTTPHeaders, HTTPMessageDelegate};

/// Which proxies to believe.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProxyTrust {
    /// Addresses of proxies in front of the trusted one; skipped when reading
    /// `X-Forwarded-For` from the right.
    pub(crate) trusted_downstream: Vec<String>,
}

impl ProxyTrust {
    /// The client IP and protocol these headers report, for a peer at `peer_ip`.
    ///
    /// `X-Real-Ip`, else the last `X-Forwarded-For` entry not in
    /// `trusted_downstream` (the first entry if all are); accepted only if
    /// it is an IP address. The last entry of `X-Scheme`, else of
    /// `X-Forwarded-Proto`; accepted only if `http` or `https`.
    ///
    /// A field sent on several lines counts as their values joined with
    /// commas, as Tornado's `headers.get` reads it: a proxy that adds its
    /// own `X-Forwarded-For` line after the client's is the one believed.
    pub(crate) fn apply(
        &self,
        headers: &HTTPHeaders,
        remote_ip: &mut String,
        protocol: &mut &'static str,
    ) {
        let forwarded_for = joined_lossy(headers, "X-Forwarded-For");
        let forwarded_ip = forwarded_for.as_deref().and_then(|list| {
            let mut entries = list.split(',').map(trim_ows).rev().peekable();
            while let Some(ip) = entries.next() {
                let trusted = self.trusted_downstream.iter().any(|t| t == ip);
                if !trusted || entries.peek().is_none() {
                    return Some(ip);
                }
            }
            None
        });
        let real_ip = joined_lossy(headers, "X-Real-Ip");
        let candidate = real_ip.as_deref().or(forwarded_ip).map(trim_ows);
        if let Some(ip) = candidate.filter(|ip| ip.parse::<IpAddr>().is_ok()) {
            *remote_ip = ip.to_owned();
        }
        let scheme = joined_lossy(headers, "X-Scheme")
            .or_else(|| joined_lossy(headers, "X-Forwarded-Proto"));
        match scheme
            .as_deref()
            .and_then(|list| list.rsplit(',').next())
            .map(trim_ows)
        {
            Some("http") => *protocol = "http",
            Some("https") => *protocol = "https",
            _ => {}
        }
    }
}

/// `text` without the spaces and tabs around it (not Unicode whitespace:
/// Tornado strips the Latin-1 text, where a U+00A0 is two bytes).
fn trim_ows(text: &str) -> &str {
    text.trim_matches(|c| c == ' ' || c == '\t')
}

/// Every line of `name` joined with commas, each read lossily: a byte
/// that is not UTF-8 spoils its own entry, not the line (nginx appends the
/// client's address to the `X-Forwarded-For` line the client sent, which
/// may hold anything), as Tornado reads them as Latin-1.
fn joined_lossy(headers: &HTTPHeaders, name: &str) -> Option<String> {
    let mut lines = headers.get_list_bytes(name);
    let mut joined = String::from_utf8_lossy(lines.next()?).into_owned();
    for line in lines {
        joined.push(',');
        joined.push_str(&String::from_utf8_lossy(line));
    }
    Some(joined)
}

/// Wraps a message delegate: applies the proxy headers to the connection's
/// context before the request is seen, and restores it afterwards.
///
/// # Tornado
/// `tornado.httpserver._ProxyAdapter`.
pub(crate) struct ProxyAdapter<M> {
    pub(crate) inner: M,
    pub(crate) connection: HTTP1Connection,
    pub(crate) trust: std::sync::Arc<ProxyTrust>,
}

impl<M> ProxyAdapter<M> {
    fn restore(&self) {
        let mut context = self.connection.context();
        context.remote_ip = context.address.ip().to_string();
        context.protocol = "http";
        self.connection.set_context(context);
    }
}

impl<M: HTTPMessageDelegate> HTTPMessageDelegate for ProxyAdapter<M> {
    async fn headers_received(&mut self, head: RequestHead) {
        let mut context = self.connection.context();
        self.trust.apply(
            head.headers(),
            &mut context.remote_ip,
            &mut context.protocol,
        );
        self.connection.set_context(context);
        self.inner.headers_received(head).await;
    }

    async fn data_received(&mut self, chunk: Bytes) {
        self.inner.data_received(chunk).await;
    }

    async fn finish(&mut self) {
        self.inner.finish().await;
        self.restore();
    }

    fn on_connection_close(&mut self) {
        self.inner.on_connection_close();
        self.restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(trust: &ProxyTrust, fields: &[(&'static str, &'static str)]) -> (String, String) {
        let mut headers = HTTPHeaders::new();
        for (name, value) in fields {
            headers.add(*name, *value);
        }
        let (mut ip, mut proto) = ("10.0.0.1".to_owned(), "http");
        trust.apply(&headers, &mut ip, &mut proto);
        (ip, proto.to_owned())
    }

    #[test]
    fn real_ip_and_scheme() {
        let trust = ProxyTrust::default();
        assert_eq!(
            apply(&trust, &[("X-Real-Ip", "4.4.4.4"), ("X-Scheme", "https")]),
            ("4.4.4.4".into(), "https".into())
        );
        assert_eq!(
            apply(
                &trust,
                &[
                    ("X-Forwarded-For", "1.1.1.1, 2.2.2.2"),
                    ("X-Forwarded-Proto", "http, https")
                ]
            ),
            ("2.2.2.2".into(), "https".into())
        );
    }

    #[test]
    fn invalid_values_are_ignored() {
        let trust = ProxyTrust::default();
        assert_eq!(
            apply(
                &trust,
                &[("X-Real-Ip", "not an ip"), ("X-Scheme", "gopher")]
            ),
            ("10.0.0.1".into(), "http".into())
        );
    }

    #[test]
    fn trusted_downstream_proxies_are_skipped() {
        let trust = ProxyTrust {
            trusted_downstream: vec!["2.2.2.2".into()],
        };
        assert_eq!(
            apply(&trust, &[("X-Forwarded-For", "1.1.1.1, 2.2.2.2")]).0,
            "1.1.1.1"
        );
        // All trusted: the first entry, as Tornado's loop ends on it.
        assert_eq!(
            apply(&trust, &[("X-Forwarded-For", "2.2.2.2, 2.2.2.2")]).0,
            "2.2.2.2"
        );
    }

    #[test]
    fn a_field_on_several_lines_is_its_values_joined() {
        let trust = ProxyTrust::default();
        // The client's own line first, then the proxy's: the proxy's last
        // entry is the client, not the address the client wrote.
        assert_eq!(
            apply(
                &trust,
                &[
                    ("X-Forwarded-For", "6.6.6.6"),
                    ("X-Forwarded-For", "203.0.113.9"),
                    ("X-Forwarded-Proto", "https"),
                    ("X-Forwarded-Proto", "http"),
                ]
            ),
            ("203.0.113.9".into(), "http".into())
        );
        assert_eq!(
            apply(&trust, &[("X-Scheme", "http"), ("X-Scheme", " https ")]).1,
            "https"
        );
        assert_eq!(apply(&trust, &[("X-Scheme", "https, http")]).1, "http");
    }
}
