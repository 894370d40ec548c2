//! The campaign list's view of the URL: filters (status, platform, text),
//! the sort and the page, read from the query string and written back so a
//! view can be shared as a link; and the rules that apply them to the rows.
//! Pure: rows in, the page of rows out.

use std::cmp::Ordering;

use serde::Deserialize;

/// Rows per page unless the URL says otherwise.
pub const DEFAULT_PER_PAGE: usize = 25;
/// The most rows a page shows.
pub const MAX_PER_PAGE: usize = 100;

/// The sort keys, in the order the page offers them.
pub const SORTS: [(&str, &str); 4] = [
    ("created", "Created"),
    ("name", "Name"),
    ("budget", "Daily budget"),
    ("spend", "Spend"),
];

/// The list's part of the query string, as sent (the range and the
/// organisation are read by [`crate::range`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub status: Option<String>,
    pub platform: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// A checked list view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListView {
    /// A status's wire name, or empty for every status.
    pub status: String,
    /// A channel's wire name, or empty for every platform.
    pub platform: String,
    /// Text the name or the objective must contain (any case), or empty.
    pub text: String,
    /// One of [`SORTS`].
    pub sort: String,
    /// Ascending or not.
    pub ascending: bool,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ListQuery {
    /// Checks the query against the statuses and platforms that exist; a
    /// value that is not one of them is refused with a sentence naming it.
    pub fn resolve(&self, statuses: &[&str], platforms: &[&str]) -> Result<ListView, String> {
        let status = given(&self.status).unwrap_or("").to_owned();
        if !status.is_empty() && !statuses.contains(&status.as_str()) {
            return Err(format!("`status` must be one of {}.", statuses.join(", ")));
        }
        let platform = given(&self.platform).unwrap_or("").to_owned();
        if !platform.is_empty() && !platforms.contains(&platform.as_str()) {
            return Err(format!(
                "`platform` must be one of {}.",
                platforms.join(", ")
            ));
        }
        let sort = given(&self.sort).unwrap_or("created").to_owned();
        if !SORTS.iter().any(|(k, _)| *k == sort) {
            return Err(format!(
                "`sort` must be one of {}.",
                SORTS.map(|(k, _)| k).join(", ")
            ));
        }
        let ascending = match given(&self.dir) {
            None => sort == "name",
            Some("asc") => true,
            Some("desc") => false,
            Some(_) => return Err("`dir` must be asc or desc.".to_owned()),
        };
        let number = |field: &str, v: &Option<String>, default: usize, max: usize| match given(v) {
            None => Ok(default),
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("`{field}` must be a whole number from 1 to {max}.")),
        };
        Ok(ListView {
            status,
            platform,
            text: given(&self.q).unwrap_or("").chars().take(200).collect(),
            sort,
            ascending,
            page: number("page", &self.page, 1, 1_000_000)?,
            per_page: number("per_page", &self.per_page, DEFAULT_PER_PAGE, MAX_PER_PAGE)?,
        })
    }
}

/// What the list needs of a campaign to filter and sort it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub objective: String,
    pub status: String,
    /// The channels of its ad sets (wire names).
    pub platforms: Vec<String>,
    /// RFC 3339, so text order is time order.
    pub created: String,
    /// `(currency, micros)`: amounts sort within their currency.
    pub budget: (String, i64),
    /// `(currency, micros)` over the range.
    pub spend: (String, i64),
}

impl ListView {
    /// The query string of this view (without the range), changed by `f`:
    /// every choice that differs from the default, in a fixed order.
    pub fn query_with(&self, f: impl FnOnce(&mut ListView)) -> String {
        let mut v = self.clone();
        f(&mut v);
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !v.status.is_empty() {
            pairs.push(("status", v.status.clone()));
        }
        if !v.platform.is_empty() {
            pairs.push(("platform", v.platform.clone()));
        }
        if !v.text.is_empty() {
            pairs.push(("q", v.text.clone()));
        }
        if v.sort != "created" {
            pairs.push(("sort", v.sort.clone()));
        }
        if v.ascending != (v.sort == "name") {
            pairs.push(("dir", if v.ascending { "asc" } else { "desc" }.to_owned()));
        }
        if v.per_page != DEFAULT_PER_PAGE {
            pairs.push(("per_page", v.per_page.to_string()));
        }
        if v.page != 1 {
            pairs.push(("page", v.page.to_string()));
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }

    /// The query string of this view as it stands.
    pub fn query(&self) -> String {
        self.query_with(|_| {})
    }

    fn keeps(&self, r: &Row) -> bool {
        let text = self.text.to_lowercase();
        (self.status.is_empty() || r.status == self.status)
            && (self.platform.is_empty() || r.platforms.contains(&self.platform))
            && (text.is_empty()
                || r.name.to_lowercase().contains(&text)
                || r.objective.to_lowercase().contains(&text))
    }

    fn compare(&self, a: &Row, b: &Row) -> Ordering {
        let by = match self.sort.as_str() {
            "name" => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            "budget" => a.budget.cmp(&b.budget),
            "spend" => a.spend.cmp(&b.spend),
            _ => Ordering::Equal,
        };
        // Ties (and `created`) fall back to the creation time.
        let by = by.then_with(|| a.created.cmp(&b.created));
        if self.ascending { by } else { by.reverse() }
    }

    /// The indices of `rows` this view keeps, in its order (every page).
    pub fn select(&self, rows: &[Row]) -> Vec<usize> {
        let mut kept: Vec<usize> = (0..rows.len()).filter(|i| self.keeps(&rows[*i])).collect();
        kept.sort_by(|a, b| self.compare(&rows[*a], &rows[*b]));
        kept
    }

    /// The pages `total` rows fill (at least one).
    pub fn pages(&self, total: usize) -> usize {
        total.div_ceil(self.per_page).max(1)
    }

    /// This view's page of the selected indices.
    pub fn page_of<'a>(&self, selected: &'a [usize]) -> &'a [usize] {
        let start = (self.page - 1).saturating_mul(self.per_page);
        let end = start.saturating_add(self.per_page).min(selected.len());
        selected.get(start..end).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUSES: [&str; 3] = ["draft", "active", "paused"];
    const PLATFORMS: [&str; 2] = ["meta", "google"];

    fn q(s: &str) -> Result<ListView, String> {
        serde_urlencoded::from_str::<ListQuery>(s)
            .unwrap()
            .resolve(&STATUSES, &PLATFORMS)
    }

    fn row(
        name: &str,
        status: &str,
        platform: &str,
        created: &str,
        budget: i64,
        spend: i64,
    ) -> Row {
        Row {
            name: name.into(),
            objective: format!("{name} objective"),
            status: status.into(),
            platforms: vec![platform.into()],
            created: created.into(),
            budget: ("USD".into(), budget),
            spend: ("USD".into(), spend),
        }
    }

    fn rows() -> Vec<Row> {
        vec![
            row("Spring", "active", "meta", "2026-01-01T00:00:00Z", 50, 300),
            row(
                "autumn",
                "paused",
                "google",
                "2026-02-01T00:00:00Z",
                80,
                100,
            ),
            row(
                "Winter sale",
                "active",
                "google",
                "2026-03-01T00:00:00Z",
                20,
                200,
            ),
        ]
    }

    fn names(v: &ListView, rows: &[Row]) -> Vec<String> {
        let sel = v.select(rows);
        v.page_of(&sel)
            .iter()
            .map(|i| rows[*i].name.clone())
            .collect()
    }

    #[test]
    fn the_default_view_is_newest_first_and_writes_an_empty_query() {
        let v = q("").unwrap();
        assert_eq!(v.sort, "created");
        assert!(!v.ascending);
        assert_eq!(v.query(), "");
        assert_eq!(names(&v, &rows()), ["Winter sale", "autumn", "Spring"]);
    }

    #[test]
    fn filters_sort_and_page_round_trip_through_the_query() {
        let s = "status=active&platform=google&q=SALE&sort=budget&dir=asc&per_page=10&page=2";
        let v = q(s).unwrap();
        assert_eq!(v.query(), s);
        assert_eq!(q(&v.query()).unwrap(), v);
        // Name sorts ascending by default, so only a descending name sort says so.
        assert_eq!(q("sort=name").unwrap().query(), "sort=name");
        assert_eq!(
            q("sort=name&dir=desc").unwrap().query(),
            "sort=name&dir=desc"
        );
        assert_eq!(
            q("q=a b&page=3").unwrap().query_with(|v| v.page = 1),
            "q=a+b"
        );
    }

    #[test]
    fn filters_keep_the_matching_rows() {
        let r = rows();
        assert_eq!(
            names(&q("status=active").unwrap(), &r),
            ["Winter sale", "Spring"]
        );
        assert_eq!(
            names(&q("platform=google").unwrap(), &r),
            ["Winter sale", "autumn"]
        );
        assert_eq!(names(&q("q=WINTER").unwrap(), &r), ["Winter sale"]);
        // The objective counts too.
        assert_eq!(names(&q("q=autumn+objective").unwrap(), &r), ["autumn"]);
        assert!(names(&q("q=nothing").unwrap(), &r).is_empty());
    }

    #[test]
    fn every_sort_orders_as_asked() {
        let r = rows();
        assert_eq!(
            names(&q("sort=name").unwrap(), &r),
            ["autumn", "Spring", "Winter sale"]
        );
        assert_eq!(
            names(&q("sort=budget").unwrap(), &r),
            ["autumn", "Spring", "Winter sale"]
        );
        assert_eq!(
            names(&q("sort=budget&dir=asc").unwrap(), &r),
            ["Winter sale", "Spring", "autumn"]
        );
        assert_eq!(
            names(&q("sort=spend").unwrap(), &r),
            ["Spring", "Winter sale", "autumn"]
        );
        assert_eq!(
            names(&q("sort=created&dir=asc").unwrap(), &r),
            ["Spring", "autumn", "Winter sale"]
        );
    }

    #[test]
    fn pages_split_the_rows() {
        let r = rows();
        let v = q("per_page=2").unwrap();
        assert_eq!(v.pages(3), 2);
        assert_eq!(names(&v, &r), ["Winter sale", "autumn"]);
        assert_eq!(names(&q("per_page=2&page=2").unwrap(), &r), ["Spring"]);
        assert!(names(&q("per_page=2&page=3").unwrap(), &r).is_empty());
        assert_eq!(v.pages(0), 1);
    }

    #[test]
    fn unknown_values_are_refused_by_name() {
        assert!(q("status=flying").unwrap_err().contains("`status`"));
        assert!(q("platform=myspace").unwrap_err().contains("`platform`"));
        assert!(q("sort=colour").unwrap_err().contains("`sort`"));
        assert!(q("dir=up").unwrap_err().contains("`dir`"));
        assert!(q("page=0").unwrap_err().contains("`page`"));
        assert!(q("per_page=1000").unwrap_err().contains("`per_page`"));
    }
}
