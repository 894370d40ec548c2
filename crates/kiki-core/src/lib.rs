//! Shared domain vocabulary for every KIKI crate: typed ids, money in integer
//! micros, the tenant scope, a settable clock, pagination, the one table of
//! error codes and the `DomainError` trait every context error implements.
//! This crate performs no IO and knows nothing of HTTP or SQL.

pub mod clock;
pub mod error;
pub mod id;
pub mod money;
pub mod page;
pub mod stats;
pub mod strings;
pub mod tenant;

pub use clock::{Clock, SystemClock, TestClock};
pub use error::{
    DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE, field_details, fields_message, no_details,
};
pub use id::{JobId, UserId};
pub use money::{Currency, Money, MoneyError, MoneyText, NonNegativeMoney, PositiveMoney};
pub use page::{Cursor, Page, PageRequest, cursor_after};
pub use strings::{StringEnum, is_schema_space, serde_name_problems, trim_schema};
pub use tenant::{OrgId, TenantScope};
