//! The registry of module configuration sections: the `ModuleSettings` trait a
//! module's section type implements, the `ConfigSection` entry it declares,
//! how a raw section is parsed and checked, and the `***` serialiser for
//! secrets in every printed view.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// Serialises a secret as `***` (or `""` when empty), for every printed view
/// of the configuration. Module sections use it on their `SecretString` fields.
pub fn serialize_secret<S: serde::Serializer>(v: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    if v.expose_secret().is_empty() {
        s.serialize_str("")
    } else {
        s.serialize_str("***")
    }
}

/// A service module's configuration section. The module's type refuses
/// unknown keys (`#[serde(deny_unknown_fields)]` or its own check), prints
/// secrets as `***` (`#[serde(serialize_with = "kiki_server::config::serialize_secret")]`),
/// and lists its problems, each naming the key to fix.
pub trait ModuleSettings:
    serde::de::DeserializeOwned + Serialize + Default + Send + Sync + 'static
{
    /// Every problem with these settings; `production` adds the safety rules
    /// (placeholder secrets, development-only switches).
    fn problems(&self, production: bool) -> Vec<String>;
}

/// What checking one section found.
#[derive(Debug, Clone, Default)]
pub struct SectionReport {
    /// The effective settings (defaults filled in), secrets as `***`; `None`
    /// when the section could not be read.
    pub effective: Option<serde_json::Value>,
    /// Problems, each prefixed with the section name.
    pub problems: Vec<String>,
}

/// A section a module declares (`Module::config_sections`): its name and how
/// to check it. `kiki config check` and `kiki serve` read the same registry.
#[derive(Clone, Copy)]
pub struct ConfigSection {
    pub name: &'static str,
    check: fn(&'static str, Option<&serde_json::Value>, bool) -> SectionReport,
}

impl std::fmt::Debug for ConfigSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSection")
            .field("name", &self.name)
            .finish()
    }
}

impl ConfigSection {
    /// The section `[name]`, read as `T`.
    pub fn of<T: ModuleSettings>(name: &'static str) -> ConfigSection {
        ConfigSection {
            name,
            check: check_section::<T>,
        }
    }

    /// Parses and checks the raw section (absent = defaults).
    pub fn check(&self, raw: Option<&serde_json::Value>, production: bool) -> SectionReport {
        (self.check)(self.name, raw, production)
    }
}

fn check_section<T: ModuleSettings>(
    name: &'static str,
    raw: Option<&serde_json::Value>,
    production: bool,
) -> SectionReport {
    match parse_section::<T>(name, raw) {
        Err(e) => SectionReport {
            effective: None,
            problems: vec![e],
        },
        Ok(t) => SectionReport {
            effective: serde_json::to_value(&t).ok(),
            problems: t
                .problems(production)
                .into_iter()
                .map(|p| {
                    if p.starts_with(&format!("{name}.")) || p.starts_with(&format!("{name}:")) {
                        p
                    } else {
                        format!("{name}: {p}")
                    }
                })
                .collect(),
        },
    }
}

/// Reads section `name` as `T`: absent or empty gives the defaults; the
/// error names the section and the key serde rejected.
pub fn parse_section<T: serde::de::DeserializeOwned + Default>(
    name: &str,
    raw: Option<&serde_json::Value>,
) -> Result<T, String> {
    match raw {
        None => Ok(T::default()),
        Some(v) if v.is_null() => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| format!("configuration section `{name}`: {e}")),
    }
}
