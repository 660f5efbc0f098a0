//! Where a webhook may point: https to a public address. Plain http only to
//! loopback, and private, loopback and link-local targets only inside the
//! networks the operator allows (`ROSTER_WEBHOOK_ALLOWED_NETWORKS`), like
//! the Okta domain's rule: an admin cannot turn Roster into a probe of the
//! network it runs in (cloud metadata at 169.254.169.254, the database, …).
//! Names are checked again when they resolve, at every delivery, so a DNS
//! answer that changes to a private address is refused too.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Parses `ROSTER_WEBHOOK_ALLOWED_NETWORKS`: CIDRs or addresses, comma-separated.
pub fn parse_networks(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "{item:?} is not a network; use CIDR notation such as 10.20.0.0/16 or 127.0.0.1/32"
                    )
                })
        })
        .collect()
}

/// A URL a webhook may be sent to, or why not (a sentence with the fix).
pub fn check_url(raw: &str, allowed: &[IpNet]) -> Result<reqwest::Url, String> {
    let raw = raw.trim();
    if raw.len() > 2000 {
        return Err("The URL is longer than 2000 characters.".into());
    }
    let url = reqwest::Url::parse(raw)
        .map_err(|e| format!("{raw:?} is not a URL ({e}); use https://host/path."))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Put no user name or password in the URL: Roster signs every request instead (verify the Roster-Signature header).".into());
    }
    if url.fragment().is_some() {
        return Err("Remove the #fragment: it is never sent to the server.".into());
    }
    let host = url.host().ok_or("The URL has no host.")?;
    let literal = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(name) if name.eq_ignore_ascii_case("localhost") => {
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
        url::Host::Domain(_) => None,
    };
    if let Some(ip) = literal {
        check_address(ip, allowed)?;
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if literal.is_some_and(|ip| ip.is_loopback()) => Ok(url),
        "http" => Err("Use https: plain http is only allowed to loopback addresses (for tests).".into()),
        other => Err(format!("The scheme must be https, not {other}.")),
    }
}

/// Whether Roster may connect to `ip`.
pub fn check_address(ip: IpAddr, allowed: &[IpNet]) -> Result<(), String> {
    let ip = canonical(ip);
    if is_public(ip) || allowed.iter().any(|net| net.contains(&ip)) {
        return Ok(());
    }
    Err(format!(
        "{ip} is a private, loopback or reserved address, refused so webhooks cannot reach into Roster's own network. \
         If this receiver is meant to be internal, the operator can allow its network with \
         ROSTER_WEBHOOK_ALLOWED_NETWORKS (e.g. {ip}/32)."
    ))
}

/// An IPv4 address written as IPv6 (mapped `::ffff:10.0.0.1`, or the old
/// compatible `::10.0.0.1`) is judged as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6)
            if v6.segments()[..5] == [0; 5] && (v6.segments()[5] == 0xffff || v6.segments()[5] == 0) =>
        {
            // `::` and `::1` stay IPv6 (unspecified, loopback).
            match v6.to_ipv4() {
                Some(v4) if !(v6.is_unspecified() || v6.is_loopback()) => IpAddr::V4(v4),
                _ => ip,
            }
        }
        other => other,
    }
}

/// Globally routable unicast (`IpAddr::is_global` is not stable yet).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19))) // benchmarking
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64, may map to private IPv4
        || first == 0x2002 // 6to4: embeds an IPv4 address
        || first == 0x2001 && ip.segments()[1] == 0 // Teredo: embeds an IPv4 address
        || (first & 0xffc0) == 0xfec0) // site-local (deprecated, still routed inside some networks)
}

/// Resolves names for the webhook client and drops every address the rules
/// refuse; a name with nothing left fails with the reason.
#[derive(Clone)]
pub struct GuardedResolver {
    pub allowed: Arc<Vec<IpNet>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allowed = Arc::clone(&self.allowed);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let usable: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match check_address(addr.ip(), &allowed) {
                    Ok(()) => true,
                    Err(reason) => {
                        refusal = Some(reason);
                        false
                    }
                })
                .collect();
            if usable.is_empty() {
                let reason = refusal.unwrap_or_else(|| format!("{host} has no address"));
                return Err(format!("{host}: {reason}").into());
            }
            let addrs: Addrs = Box::new(usable.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_https_passes_and_private_targets_need_the_operator() {
        assert!(check_url("https://hooks.example.com/roster", &[]).is_ok());
        assert!(check_url("https://[2606:4700::1111]/", &[]).is_ok());
        assert!(check_url("https://93.184.216.34/", &[]).is_ok());
        for refused in [
            "http://hooks.example.com/",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:192.168.1.1]/",
            "https://[fd00::1]/",
            "https://[::7f00:1]/",
            "https://[::ffff:7f00:1]/",
            "https://[2002:a00:1::]/",
            "https://[2001:0:a00:1::]/",
            "https://[fec0::1]/",
            "https://[::1]/",
            "http://127.0.0.1:9/",
            "https://localhost/",
            "https://100.64.0.1/",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            assert!(check_url(refused, &[]).is_err(), "{refused} should be refused");
        }
        let loopback = parse_networks("127.0.0.0/8").unwrap();
        assert!(check_url("http://127.0.0.1:9/hook", &loopback).is_ok());
        assert!(check_url("http://localhost:9/hook", &loopback).is_ok());
        // Allowing a private network does not allow plain http to it.
        let private = parse_networks("10.0.0.0/8, 192.168.1.7").unwrap();
        assert!(check_url("https://10.9.9.9/", &private).is_ok());
        assert!(check_url("https://192.168.1.7/", &private).is_ok());
        assert!(check_url("https://192.168.1.8/", &private).is_err());
        assert!(check_url("http://10.9.9.9/", &private).is_err());
        let err = check_url("https://10.1.2.3/", &[]).unwrap_err();
        assert!(err.contains("ROSTER_WEBHOOK_ALLOWED_NETWORKS"), "{err}");
        assert!(parse_networks("10.0.0.0/33").is_err());
    }
}
