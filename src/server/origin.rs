//! Where a request comes from and whom it addresses. The client is the
//! peer of the connection — or, only when that peer is a `--trusted-proxy`,
//! the nearest address of `X-Forwarded-For` that is not one — with an IPv4
//! address arriving on a dual-stack socket (`::ffff:127.0.0.1`) taken as
//! the IPv4 address it is. The Host header must name this server (an IP
//! address, `localhost`, or the host of `--public-url`), so a page on
//! another name that resolves to this machine (DNS rebinding) reads nothing.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// A network given as `ADDR/PREFIX` (or a single `ADDR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `127.0.0.1`, `fd00::/8`; an error says what is wrong.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("--trusted-proxy `{text}`: `{address}` is not an IP address (ADDR or ADDR/PREFIX)"))?;
        let network = network.to_canonical();
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(prefix) => prefix.parse::<u8>().ok().filter(|prefix| *prefix <= width).ok_or_else(|| {
                format!("--trusted-proxy `{text}`: the prefix length must be a number from 0 to {width}")
            })?,
        };
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// The client's address: the peer, or behind trusted proxies the last
/// address of `X-Forwarded-For` that is not one of them. A hop that is not
/// an address makes the client unknown (`0.0.0.0`, which is not loopback).
pub fn client(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let mut client = peer.to_canonical();
    let is_trusted = |address: IpAddr| trusted.iter().any(|cidr| cidr.contains(address));
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect();
    for hop in hops.iter().rev() {
        match hop_address(hop) {
            Some(address) => {
                client = address;
                if !is_trusted(client) {
                    return client;
                }
            }
            None => return IpAddr::from([0, 0, 0, 0]),
        }
    }
    client
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:5678`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    None
}

/// The host of `--public-url` (`https://deploy.example.com/`), lower case.
pub fn public_host(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("--public-url `{url}` must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host_of(authority);
    if host.is_empty() || authority.contains('@') {
        return Err(format!("--public-url `{url}` must be http(s)://HOST[:PORT][/PATH]"));
    }
    Ok(host.to_ascii_lowercase())
}

/// The host of a Host header or URL authority, without the port.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    authority.rsplit_once(':').map_or(authority, |(host, _)| host)
}

/// Whether the Host header names this server: an IP address, `localhost`,
/// or `public` (the host of `--public-url`). Browsers always send one; a
/// request without one (HTTP/1.0) names no other site either.
pub fn host_allowed(headers: &HeaderMap, public: Option<&str>) -> bool {
    let Some(value) = headers.get(axum::http::header::HOST) else { return true };
    let Ok(value) = value.to_str() else { return false };
    let host = host_of(value.trim()).trim_end_matches('.').to_ascii_lowercase();
    host.parse::<IpAddr>().is_ok() || host == "localhost" || public.is_some_and(|public| public == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.1".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(Cidr::parse("::1").unwrap().contains("::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("proxy").is_err());
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let proxy = [Cidr::parse("127.0.0.1").unwrap()];
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let remote: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client(local, &forwarded("203.0.113.9"), &proxy), remote);
        assert_eq!(client(local, &forwarded("198.51.100.1, 203.0.113.9"), &proxy), remote);
        assert_eq!(client(local, &forwarded("203.0.113.9"), &[]), local);
        assert_eq!(client(remote, &forwarded("127.0.0.1"), &proxy), remote);
        assert_eq!(client(local, &forwarded("nonsense"), &proxy), IpAddr::from([0, 0, 0, 0]));
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(client(mapped, &HeaderMap::new(), &[]).is_loopback());
    }

    #[test]
    fn the_host_must_name_this_server() {
        let host = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(axum::http::header::HOST, value.parse().unwrap());
            headers
        };
        assert!(host_allowed(&host("127.0.0.1:8780"), None));
        assert!(host_allowed(&host("[::1]:8780"), None));
        assert!(host_allowed(&host("localhost:8780"), None));
        assert!(!host_allowed(&host("evil.example:8780"), None));
        assert!(host_allowed(&host("Deploy.Example.com"), Some("deploy.example.com")));
        assert_eq!(public_host("https://deploy.example.com:8443/x").unwrap(), "deploy.example.com");
        assert!(public_host("deploy.example.com").is_err());
    }
}
