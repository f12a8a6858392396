//! The client address of a request (DESIGN.md §5): the TCP peer, unless the peer is
//! a trusted reverse proxy (`trusted_proxies`); then the right-most address, not
//! itself a trusted proxy, of the one header the proxies write (`forwarded_header`:
//! `X-Forwarded-For`, or `Forwarded`'s `for=` per RFC 7239 §4). Addresses left of
//! that one were written by the client and prove nothing; so is the other header,
//! which a proxy passes through untouched, and which is never read. Rate limits,
//! login throttling and the audit log all use this one address.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use ipnet::IpNet;

use super::AppState;
use crate::config::ForwardedHeader;

/// The client address of `req` under the server's `trusted_proxies`.
pub fn of_request(state: &AppState, req: &HttpRequest) -> Option<IpAddr> {
    let config = &state.services.config;
    resolve(
        req.peer_addr().map(|a| a.ip()),
        req.headers(),
        &config.trusted_proxies,
        config.forwarded_header,
    )
}

/// The client address given the TCP `peer`, the request's headers and the trusted
/// proxies. `None` only without a peer (never on a TCP listener).
pub fn resolve(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ForwardedHeader,
) -> Option<IpAddr> {
    let peer = peer.map(canonical)?;
    if !is_trusted(peer, trusted) {
        return Some(peer);
    }
    let hops = match header {
        ForwardedHeader::XForwardedFor => x_forwarded_for_hops(headers),
        ForwardedHeader::Forwarded => forwarded_hops(headers),
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            // The trusted hop to the right could not name who it talked to
            // (`unknown`, an obfuscated identifier, garbage): it is the client.
            None => return Some(client),
            Some(ip) => {
                client = *ip;
                if !is_trusted(client, trusted) {
                    return Some(client);
                }
            }
        }
    }
    Some(client)
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, as dual-stack sockets report) as
/// the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The `for=` hops of `Forwarded` (RFC 7239 §4), left to right; `None` where an
/// element names no address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("forwarded")
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| parse_node(value))
        })
        .collect()
}

/// The hops of `X-Forwarded-For`, left to right (several lines are one list).
fn x_forwarded_for_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .map(parse_node)
        .collect()
}

/// RFC 7239 §6: a node is an IPv4 address, a bracketed IPv6 address, either with an
/// optional port, possibly quoted; `unknown` and `_obfuscated` are not addresses.
/// X-Forwarded-For's bare IPv6 addresses are accepted too.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    let inner = text.strip_prefix('[')?.split(']').next()?;
    inner.parse::<IpAddr>().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    const FWD: ForwardedHeader = ForwardedHeader::Forwarded;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[("x-forwarded-for", "1.1.1.1"), ("forwarded", "for=2.2.2.2")]);
        assert_eq!(
            resolve(Some(ip("9.9.9.9")), &h, &nets(&["10.0.0.0/8"]), XFF),
            Some(ip("9.9.9.9"))
        );
        assert_eq!(
            resolve(Some(ip("9.9.9.9")), &h, &[], XFF),
            Some(ip("9.9.9.9"))
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_right_most_untrusted_hop() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        // The client put 6.6.6.6 in front to pose as someone else.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2")]);
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), &h, &trusted, XFF),
            Some(ip("203.0.113.7"))
        );
        // Several header lines are one list, in order.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(
            resolve(Some(ip("10.1.1.1")), &h, &trusted, XFF),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn only_the_configured_header_is_read_and_forwarded_follows_rfc_7239() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            (
                "forwarded",
                "for=192.0.2.60;proto=http;by=203.0.113.43, For=\"[2001:db8:cafe::17]:4711\"",
            ),
        ]);
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), &h, &trusted, FWD),
            Some(ip("2001:db8:cafe::17"))
        );
        // A proxy that appends X-Forwarded-For passes a client's Forwarded untouched.
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), &h, &trusted, XFF),
            Some(ip("6.6.6.6"))
        );
        let h = headers(&[("forwarded", "for=\"192.0.2.43:47011\"")]);
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), &h, &trusted, FWD),
            Some(ip("192.0.2.43"))
        );
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), &h, &trusted, XFF),
            Some(ip("127.0.0.1"))
        );
    }

    #[test]
    fn an_unparseable_hop_stops_at_the_proxy_that_saw_it() {
        let trusted = nets(&["127.0.0.1/32", "10.0.0.0/8"]);
        let h = headers(&[("forwarded", "for=unknown, for=10.0.0.5")]);
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), &h, &trusted, FWD),
            Some(ip("10.0.0.5"))
        );
        let h = headers(&[("x-forwarded-for", "<script>")]);
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), &h, &trusted, XFF),
            Some(ip("127.0.0.1"))
        );
    }

    #[test]
    fn without_headers_or_when_every_hop_is_trusted_the_left_most_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(Some(ip("10.0.0.1")), &HeaderMap::new(), &trusted, XFF),
            Some(ip("10.0.0.1"))
        );
        let h = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.8")]);
        assert_eq!(
            resolve(Some(ip("10.0.0.1")), &h, &trusted, XFF),
            Some(ip("10.0.0.9"))
        );
    }

    #[test]
    fn ipv4_mapped_peers_are_ipv4() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.1")]);
        assert_eq!(
            resolve(Some(ip("::ffff:127.0.0.1")), &h, &trusted, XFF),
            Some(ip("198.51.100.1"))
        );
    }
}
