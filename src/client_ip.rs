//! Who the client is, for rate limits: the TCP peer, unless that peer is a proxy the deployment
//! trusts (`HAVEN_TRUSTED_PROXIES`), in which case the address that proxy says it received the
//! request from (`X-Forwarded-For`). Untrusted peers cannot choose their own address by sending
//! the header. The address is only ever hashed (src/throttle.rs), never stored or logged.

use std::net::IpAddr;

use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma-separated list of addresses or CIDR blocks, e.g. `10.0.0.0/8, 192.0.2.7`.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("HAVEN_TRUSTED_PROXIES: {s:?} is not an address or CIDR block")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, or behind trusted proxies the right-most
    /// `X-Forwarded-For` entry that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        for hop in forwarded_for.unwrap_or("").rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                // A malformed entry ends what can be believed.
                Err(_) => break,
            }
        }
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_header_counts_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("203.0.113.9"), Some("198.51.100.1")),
            ip("203.0.113.9")
        );
        let lb = TrustedProxies::parse("10.0.0.0/8, 192.0.2.7").unwrap();
        assert_eq!(
            lb.client_ip(ip("10.1.2.3"), Some("198.51.100.1")),
            ip("198.51.100.1")
        );
        // A client cannot pick its address by sending the header itself: the proxy appends.
        assert_eq!(
            lb.client_ip(ip("10.1.2.3"), Some("1.1.1.1, 198.51.100.1, 192.0.2.7")),
            ip("198.51.100.1")
        );
        assert_eq!(
            lb.client_ip(ip("203.0.113.9"), Some("198.51.100.1")),
            ip("203.0.113.9")
        );
        assert_eq!(lb.client_ip(ip("10.1.2.3"), None), ip("10.1.2.3"));
        assert!(TrustedProxies::parse("not-an-ip").is_err());
    }
}
