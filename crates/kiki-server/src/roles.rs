//! Process roles (the Mimir/Loki "one binary, many targets" pattern): `api`
//! (REST, dashboard, docs), `bidder` (OpenRTB endpoints only) and `worker`
//! (jobs and schedules). `all` runs every role in one process.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub api: bool,
    pub bidder: bool,
    pub worker: bool,
}

impl Roles {
    pub const ALL: Roles = Roles {
        api: true,
        bidder: true,
        worker: true,
    };

    /// Parses `all` or a comma list such as `api,worker`.
    pub fn parse(s: &str) -> Result<Roles, String> {
        let mut r = Roles {
            api: false,
            bidder: false,
            worker: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "all" => r = Roles::ALL,
                "api" => r.api = true,
                "bidder" => r.bidder = true,
                "worker" => r.worker = true,
                other => {
                    return Err(format!(
                        "unknown role `{other}`; use all, api, bidder or worker"
                    ));
                }
            }
        }
        if !(r.api || r.bidder || r.worker) {
            return Err("no role given; use all, or a comma list of api, bidder, worker".into());
        }
        Ok(r)
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            ("api", self.api),
            ("bidder", self.bidder),
            ("worker", self.worker),
        ]
        .into_iter()
        .filter_map(|(n, on)| on.then_some(n))
        .collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_lists_parse_and_unknown_roles_are_named() {
        assert_eq!(Roles::parse("all").unwrap(), Roles::ALL);
        let r = Roles::parse("api, worker").unwrap();
        assert!(r.api && r.worker && !r.bidder);
        assert!(Roles::parse("api,web").unwrap_err().contains("`web`"));
        assert!(Roles::parse("").is_err());
        assert_eq!(
            Roles::parse("bidder,api").unwrap().to_string(),
            "api,bidder"
        );
    }
}
