//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!`
//! embeds the migration folders at compile time, and cargo watches only the
//! files a build script names.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
