//! PII masking for what the audit log keeps: emails keep their first letter
//! and domain, IP addresses lose their host part, and anything named like a
//! credential is replaced. Applied before an entry is hashed and stored, so
//! the masked form is what the chain protects. Pure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde_json::Value;

/// What a masked secret reads as.
pub const REDACTED: &str = "***";

/// Key fragments that mark a value as a credential (matched case-insensitively).
const SECRET_KEY_PARTS: [&str; 4] = ["password", "secret", "token", "code"];
/// Keys whose IP address value is masked (matched case-insensitively).
const IP_KEYS: [&str; 2] = ["ip", "ip_address"];

/// True when `s` looks like one email address: one `@`, a non-empty local
/// part, a dotted domain, no whitespace.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

/// "john@example.com" → "j***@example.com"; not an email → unchanged.
pub fn mask_email(s: &str) -> String {
    if !is_email(s) {
        return s.to_owned();
    }
    let Some((local, domain)) = s.split_once('@') else {
        return s.to_owned();
    };
    let first: String = local.chars().take(1).collect();
    format!("{first}{REDACTED}@{domain}")
}

/// IPv4: last octet zeroed ("203.0.113.0"); IPv6: the first 48 bits kept
/// ("2001:db8:1::"). An IPv4-mapped IPv6 address is masked as IPv4.
pub fn mask_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => mask_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => mask_v4(v4),
            None => {
                let s = v6.segments();
                Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string()
            }
        },
    }
}

fn mask_v4(v4: Ipv4Addr) -> String {
    let [a, b, c, _] = v4.octets();
    Ipv4Addr::new(a, b, c, 0).to_string()
}

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_KEY_PARTS.iter().any(|part| k.contains(part))
}

fn is_ip_key(key: &str) -> bool {
    IP_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k))
}

/// The masked form of an IP address (or `addr:port`) in text, if it is one.
fn mask_ip_text(s: &str) -> Option<String> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(mask_ip(ip));
    }
    s.parse::<SocketAddr>().ok().map(|sa| mask_ip(sa.ip()))
}

/// Recursive: values under keys containing password/secret/token/code
/// (case-insensitive) → "***"; keys "ip"/"ip_address" holding an IP →
/// [`mask_ip`]; any other string that is an email → [`mask_email`].
pub fn mask_details(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let masked = if is_secret_key(k) {
                        Value::String(REDACTED.to_owned())
                    } else if let (true, Value::String(s)) = (is_ip_key(k), v)
                        && let Some(ip) = mask_ip_text(s)
                    {
                        Value::String(ip)
                    } else {
                        mask_details(v)
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_details).collect()),
        Value::String(s) => Value::String(mask_email(s)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails_keep_their_first_letter_and_domain() {
        let cases = [
            ("john@example.com", "j***@example.com"),
            ("a@b.co", "a***@b.co"),
            ("Élodie@exemple.fr", "É***@exemple.fr"),
            ("j***@example.com", "j***@example.com"),
            ("not an email", "not an email"),
            ("@example.com", "@example.com"),
            ("john@localhost", "john@localhost"),
            ("john@@example.com", "john@@example.com"),
            ("john doe@example.com", "john doe@example.com"),
            ("john@example..com", "john@example..com"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(mask_email(input), expected, "{input}");
        }
    }

    #[test]
    fn ip_addresses_lose_their_host_part() {
        let cases = [
            ("203.0.113.7", "203.0.113.0"),
            ("10.0.0.255", "10.0.0.0"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1::"),
            ("2001:db8:1::", "2001:db8:1::"),
            ("::1", "::"),
            ("::ffff:203.0.113.7", "203.0.113.0"),
        ];
        for (input, expected) in cases {
            let ip: IpAddr = input.parse().unwrap();
            assert_eq!(mask_ip(ip), expected, "{input}");
        }
    }

    #[test]
    fn details_are_masked_recursively() {
        let input = json!({
            "email": "john@example.com",
            "Password": "hunter2",
            "new_password": {"nested": "x"},
            "client_secret": 42,
            "refresh_TOKEN": "abc",
            "mfa_code": "123456",
            "ip": "203.0.113.7",
            "IP_ADDRESS": "2001:db8:1:2::9",
            "ip_address_note": "203.0.113.7",
            "peer": {"ip": "198.51.100.23:443", "who": ["jane@example.org", "plain", 3, null]},
            "ip_fallback": {"ip": "not-an-ip"},
            "count": 3,
            "ok": true
        });
        let expected = json!({
            "email": "j***@example.com",
            "Password": "***",
            "new_password": "***",
            "client_secret": "***",
            "refresh_TOKEN": "***",
            "mfa_code": "***",
            "ip": "203.0.113.0",
            "IP_ADDRESS": "2001:db8:1::",
            "ip_address_note": "203.0.113.7",
            "peer": {"ip": "198.51.100.0", "who": ["j***@example.org", "plain", 3, null]},
            "ip_fallback": {"ip": "not-an-ip"},
            "count": 3,
            "ok": true
        });
        assert_eq!(mask_details(&input), expected);
    }

    #[test]
    fn masking_is_idempotent() {
        let input = json!({"email": "john@example.com", "token": "t", "ip": "203.0.113.7", "list": ["a@b.co"]});
        let once = mask_details(&input);
        assert_eq!(mask_details(&once), once);
    }

    #[test]
    fn scalars_and_empty_values_pass_through() {
        for v in [json!(null), json!(1.5), json!(true), json!({}), json!([])] {
            assert_eq!(mask_details(&v), v);
        }
        assert_eq!(mask_details(&json!("a@b.co")), json!("a***@b.co"));
    }
}
