//! The org's data model and deterministic seeding.
//!
//! Everything is keyed by Okta id in `BTreeMap`s so list endpoints can page in id order straight
//! from the maps without copying the org.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::util::okta_id;

/// Seeded timestamps fall in the two years after this instant (2023-01-01T00:00:00Z).
const SEED_EPOCH_MS: i64 = 1_672_531_200_000;
const DAY_MS: i64 = 86_400_000;

pub(crate) const ROSTER_CLIENT_ID: &str = "0oaRosterSsoClient01";
/// Okta's default user type id looks like this; every seeded user uses it.
pub(crate) const DEFAULT_USER_TYPE_ID: &str = "otyDefaultUserType01";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserStatus {
    Staged,
    Provisioned,
    Active,
    Recovery,
    LockedOut,
    PasswordExpired,
    Suspended,
    Deprovisioned,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Staged => "STAGED",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::Active => "ACTIVE",
            UserStatus::Recovery => "RECOVERY",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Deprovisioned => "DEPROVISIONED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "STAGED" => UserStatus::Staged,
            "PROVISIONED" => UserStatus::Provisioned,
            "ACTIVE" => UserStatus::Active,
            "RECOVERY" => UserStatus::Recovery,
            "LOCKED_OUT" => UserStatus::LockedOut,
            "PASSWORD_EXPIRED" => UserStatus::PasswordExpired,
            "SUSPENDED" => UserStatus::Suspended,
            "DEPROVISIONED" => UserStatus::Deprovisioned,
            _ => return None,
        })
    }

    /// Whether the user has ever completed activation (drives `activated`/`lastLogin`).
    fn was_activated(self) -> bool {
        !matches!(self, UserStatus::Staged | UserStatus::Provisioned)
    }
}

/// Profile attributes. `None` means unset: rendered as `null` for the base attributes Okta always
/// returns (`mobilePhone`, `secondEmail`) and omitted for the rest.
#[derive(Debug, Clone, Default)]
pub(crate) struct Profile {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub login: String,
    pub display_name: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub employee_number: Option<String>,
    pub mobile_phone: Option<String>,
    pub second_email: Option<String>,
    pub cost_center: Option<String>,
    pub city: Option<String>,
    pub nick_name: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: String,
    pub status: UserStatus,
    pub created: i64,
    pub activated: Option<i64>,
    pub status_changed: Option<i64>,
    pub last_login: Option<i64>,
    pub last_updated: i64,
    pub password_changed: Option<i64>,
    pub profile: Profile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupType {
    Okta,
    App,
}

impl GroupType {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::Okta => "OKTA_GROUP",
            GroupType::App => "APP_GROUP",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub id: String,
    pub kind: GroupType,
    pub name: String,
    pub description: Option<String>,
    pub created: i64,
    pub last_updated: i64,
    pub last_membership_updated: i64,
    pub members: BTreeSet<String>,
}

/// A user's assignment to an app. `direct` = assigned individually (scope USER); otherwise the
/// assignment exists only through an assigned group (scope GROUP).
#[derive(Debug, Clone)]
pub(crate) struct AppUser {
    pub direct: bool,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct AppGroup {
    pub priority: u32,
    pub last_updated: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct App {
    pub id: String,
    pub name: String,
    pub label: String,
    pub sign_on_mode: &'static str,
    pub client_id: Option<String>,
    pub created: i64,
    pub last_updated: i64,
    pub users: BTreeMap<String, AppUser>,
    pub groups: BTreeMap<String, AppGroup>,
}

#[derive(Debug, Default)]
pub(crate) struct Org {
    pub org_id: String,
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
    /// Reverse membership index so user deletes and group-based assignments stay cheap.
    pub user_groups: HashMap<String, BTreeSet<String>>,
    pub apps: BTreeMap<String, App>,
    pub roster_app_id: String,
    pub memberships: usize,
}

const FIRST_NAMES: &[&str] = &[
    "Ada", "Alan", "Amara", "Ben", "Carmen", "Chen", "Dana", "Diego", "Elena", "Emeka", "Farah", "Felix",
    "Grace", "Hiro", "Ines", "Ivan", "Jamal", "Julia", "Kai", "Lena", "Liam", "Maya", "Mateo", "Nadia",
    "Noah", "Olga", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Sofia", "Tariq", "Uma", "Victor", "Wen",
    "Xena", "Yusuf", "Zoe", "Zhang",
];
const LAST_NAMES: &[&str] = &[
    "Adams", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Khan",
    "Larsen", "Martin", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Silva", "Tanaka", "Usman",
    "Varga", "Weber", "Xu", "Yilmaz", "Zimmer",
];
const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Support",
    "People",
    "Legal",
    "Operations",
    "Design",
];
const TITLES: &[&str] = &[
    "Engineer",
    "Senior Engineer",
    "Manager",
    "Director",
    "Analyst",
    "Specialist",
    "Coordinator",
    "Designer",
    "Account Executive",
];
const CITIES: &[&str] = &[
    "Berlin",
    "Lisbon",
    "Austin",
    "Toronto",
    "Singapore",
    "Nairobi",
    "Sydney",
];
const TEAMS: &[&str] = &[
    "Platform",
    "Payments",
    "Growth",
    "Identity",
    "Mobile",
    "Data",
    "Infra",
    "Security",
    "Billing",
    "Search",
    "Partners",
    "Onboarding",
];

impl Org {
    /// Builds the whole org from `seed`. Pure function of its arguments (no clock reads).
    pub fn seed(seed: u64, n_users: usize, n_groups: usize, n_memberships: usize) -> Org {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut org = Org {
            org_id: okta_id("00o", &mut rng),
            ..Org::default()
        };

        let user_ids = seed_users(&mut org, &mut rng, n_users);
        let group_ids = seed_groups(&mut org, &mut rng, n_groups);

        // ~5% of groups and ~2% of users stay out of the Roster app; those users are only placed in
        // unassigned groups so group-based assignment cannot pull them in.
        let unassigned_groups = pick_subset(&mut rng, &group_ids, percent(n_groups, 5));
        let unassigned_users = pick_subset(&mut rng, &user_ids, percent(n_users, 2));
        seed_memberships(
            &mut org,
            &mut rng,
            &user_ids,
            &group_ids,
            &unassigned_users,
            &unassigned_groups,
            n_memberships,
        );
        seed_apps(
            &mut org,
            &mut rng,
            &user_ids,
            &group_ids,
            &unassigned_users,
            &unassigned_groups,
        );
        org
    }

    pub fn roster_app(&self) -> Option<&App> {
        self.apps.get(&self.roster_app_id)
    }
}

/// `pct` percent of `n`, rounded, but at least one once the org is big enough to notice.
fn percent(n: usize, pct: usize) -> usize {
    let v = (n * pct + 50) / 100;
    if v == 0 && n >= 10 {
        1
    } else {
        v
    }
}

fn pick_subset(rng: &mut StdRng, ids: &[String], count: usize) -> HashSet<String> {
    let mut picked = HashSet::new();
    if ids.is_empty() {
        return picked;
    }
    while picked.len() < count.min(ids.len()) {
        picked.insert(ids[rng.gen_range(0..ids.len())].clone());
    }
    picked
}

fn unique_id(rng: &mut StdRng, prefix: &str, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let id = okta_id(prefix, rng);
        if !taken(&id) {
            return id;
        }
    }
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

fn seed_users(org: &mut Org, rng: &mut StdRng, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 1..=n {
        let id = unique_id(rng, "00u", |id| org.users.contains_key(id));
        let first = pick(rng, FIRST_NAMES);
        let last = pick(rng, LAST_NAMES);
        let login = format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            last.to_lowercase(),
            i
        );
        let status = match rng.gen_range(0..100) {
            0..=83 => UserStatus::Active,
            84..=86 => UserStatus::Staged,
            87..=88 => UserStatus::Provisioned,
            89..=91 => UserStatus::Suspended,
            92..=93 => UserStatus::LockedOut,
            94..=95 => UserStatus::PasswordExpired,
            96 => UserStatus::Recovery,
            _ => UserStatus::Deprovisioned,
        };
        let created = SEED_EPOCH_MS + rng.gen_range(0..600 * DAY_MS);
        let activated = status
            .was_activated()
            .then(|| created + rng.gen_range(60_000..DAY_MS));
        let password_changed = activated.map(|a| a + rng.gen_range(0..30 * DAY_MS));
        let last_login = match activated {
            Some(a) if rng.gen_bool(0.9) => Some(a + rng.gen_range(0..100 * DAY_MS)),
            _ => None,
        };
        let status_changed = match status {
            UserStatus::Staged => None,
            UserStatus::Active | UserStatus::Provisioned => activated.or(Some(created + 1_000)),
            _ => Some(activated.unwrap_or(created) + rng.gen_range(DAY_MS..120 * DAY_MS)),
        };
        let last_updated = [Some(created), activated, password_changed, status_changed]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(created);
        let department = Some(pick(rng, DEPARTMENTS).to_owned());
        // A few titles are present but empty, as imported directories often leave them.
        let title = match rng.gen_range(0..100) {
            0..=4 => Some(String::new()),
            5..=14 => None,
            _ => Some(pick(rng, TITLES).to_owned()),
        };
        let mobile = format!("+1-555-{:03}-{:04}", rng.gen_range(100..999), i % 10_000);
        let cost_center = format!("CC-{}", rng.gen_range(100..130));
        let city = pick(rng, CITIES).to_owned();
        let profile = Profile {
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            email: login.clone(),
            display_name: Some(format!("{first} {last}")),
            title,
            employee_number: rng.gen_bool(0.95).then(|| format!("E{i:06}")),
            mobile_phone: rng.gen_bool(0.6).then_some(mobile),
            second_email: rng
                .gen_bool(0.1)
                .then(|| format!("{}.{i}@personal.example.net", first.to_lowercase())),
            cost_center: rng.gen_bool(0.3).then_some(cost_center),
            city: rng.gen_bool(0.5).then_some(city),
            nick_name: rng.gen_bool(0.05).then(|| first.chars().take(3).collect()),
            department,
            login,
        };
        let user = User {
            id: id.clone(),
            status,
            created,
            activated,
            status_changed,
            last_login,
            last_updated,
            password_changed,
            profile,
        };
        org.users.insert(id.clone(), user);
        ids.push(id);
    }
    ids
}

fn seed_groups(org: &mut Org, rng: &mut StdRng, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 1..=n {
        let id = unique_id(rng, "00g", |id| org.groups.contains_key(id));
        let kind = if rng.gen_bool(0.1) {
            GroupType::App
        } else {
            GroupType::Okta
        };
        let team = pick(rng, TEAMS);
        let dept = pick(rng, DEPARTMENTS);
        let name = format!("{dept} {team} {i}");
        let description = rng.gen_bool(0.8).then(|| format!("{team} team in {dept}"));
        let created = SEED_EPOCH_MS + rng.gen_range(0..300 * DAY_MS);
        let last_updated = created + rng.gen_range(0..100 * DAY_MS);
        let group = Group {
            id: id.clone(),
            kind,
            name,
            description,
            created,
            last_updated,
            last_membership_updated: last_updated,
            members: BTreeSet::new(),
        };
        org.groups.insert(id.clone(), group);
        ids.push(id);
    }
    ids
}

/// Memberships follow a power law over groups: a few big groups, a long tail of small ones.
fn seed_memberships(
    org: &mut Org,
    rng: &mut StdRng,
    user_ids: &[String],
    group_ids: &[String],
    unassigned_users: &HashSet<String>,
    unassigned_groups: &HashSet<String>,
    target: usize,
) {
    if user_ids.is_empty() || group_ids.is_empty() {
        return;
    }
    let target = target.min(user_ids.len().saturating_mul(group_ids.len()));
    let mut cumulative = Vec::with_capacity(group_ids.len());
    let mut total = 0.0;
    for rank in 0..group_ids.len() {
        total += 1.0 / ((rank + 1) as f64).powf(0.9);
        cumulative.push(total);
    }
    let cap = |gid: &str| {
        if unassigned_groups.contains(gid) {
            user_ids.len()
        } else {
            user_ids.len() - unassigned_users.len().min(user_ids.len())
        }
    };
    // Bounded retries: a saturated big group just sends the remaining picks elsewhere.
    let mut attempts = target.saturating_mul(20).max(1000);
    while org.memberships < target && attempts > 0 {
        attempts -= 1;
        let x = rng.gen_range(0.0..total);
        let gi = cumulative.partition_point(|c| *c <= x).min(group_ids.len() - 1);
        let gid = &group_ids[gi];
        let uid = &user_ids[rng.gen_range(0..user_ids.len())];
        if unassigned_users.contains(uid) && !unassigned_groups.contains(gid) {
            continue;
        }
        let Some(group) = org.groups.get_mut(gid) else {
            continue;
        };
        if group.members.len() >= cap(gid) || !group.members.insert(uid.clone()) {
            continue;
        }
        org.user_groups
            .entry(uid.clone())
            .or_default()
            .insert(gid.clone());
        org.memberships += 1;
    }
    for group in org.groups.values_mut() {
        group.last_membership_updated = group.last_updated + rng.gen_range(0..50 * DAY_MS);
    }
}

fn new_app(org: &Org, rng: &mut StdRng, name: &str, label: &str, mode: &'static str) -> App {
    let id = unique_id(rng, "0oa", |id| org.apps.contains_key(id));
    let created = SEED_EPOCH_MS + rng.gen_range(0..30 * DAY_MS);
    App {
        id,
        name: name.to_owned(),
        label: label.to_owned(),
        sign_on_mode: mode,
        client_id: None,
        created,
        last_updated: created + rng.gen_range(0..200 * DAY_MS),
        users: BTreeMap::new(),
        groups: BTreeMap::new(),
    }
}

fn seed_apps(
    org: &mut Org,
    rng: &mut StdRng,
    user_ids: &[String],
    group_ids: &[String],
    unassigned_users: &HashSet<String>,
    unassigned_groups: &HashSet<String>,
) {
    let mut roster = new_app(org, rng, "oidc_client", "Roster", "OPENID_CONNECT");
    roster.client_id = Some(ROSTER_CLIENT_ID.to_owned());
    let assigned_groups: Vec<&String> = group_ids
        .iter()
        .filter(|g| !unassigned_groups.contains(*g))
        .collect();
    assign_groups(&mut roster, rng, assigned_groups.iter().copied());
    for uid in user_ids {
        let Some(user) = org.users.get(uid) else { continue };
        if unassigned_users.contains(uid) || user.status == UserStatus::Deprovisioned {
            continue;
        }
        let via_group = org
            .user_groups
            .get(uid)
            .is_some_and(|gs| gs.iter().any(|g| roster.groups.contains_key(g)));
        // Some group members were also assigned individually before the group was (scope USER).
        let direct = !via_group || rng.gen_bool(0.1);
        let created = roster.created.max(user.created) + rng.gen_range(0..30 * DAY_MS);
        roster.users.insert(
            uid.clone(),
            AppUser {
                direct,
                created,
                last_updated: created,
            },
        );
    }
    org.roster_app_id = roster.id.clone();
    org.apps.insert(roster.id.clone(), roster);

    // Two other apps with few assignments, to prove Roster only reads its own app.
    let mut slack = new_app(org, rng, "slack", "Slack", "SAML_2_0");
    let small_groups: Vec<&String> = group_ids.iter().rev().take(2).collect();
    assign_groups(&mut slack, rng, small_groups.iter().copied());
    for gid in small_groups {
        let members: Vec<String> = org
            .groups
            .get(gid)
            .map(|g| g.members.iter().cloned().collect())
            .unwrap_or_default();
        for uid in members {
            if org
                .users
                .get(&uid)
                .is_some_and(|u| u.status != UserStatus::Deprovisioned)
            {
                slack.users.insert(
                    uid,
                    AppUser {
                        direct: false,
                        created: slack.created,
                        last_updated: slack.created,
                    },
                );
            }
        }
    }
    let mut zoom = new_app(org, rng, "zoomus", "Zoom", "SAML_2_0");
    for app in [&mut slack, &mut zoom] {
        for uid in pick_subset(
            rng,
            user_ids,
            percent(user_ids.len(), 2).max(user_ids.len().min(3)),
        ) {
            if org
                .users
                .get(&uid)
                .is_some_and(|u| u.status != UserStatus::Deprovisioned)
            {
                let created = app.created + rng.gen_range(0..30 * DAY_MS);
                app.users.insert(
                    uid,
                    AppUser {
                        direct: true,
                        created,
                        last_updated: created,
                    },
                );
            }
        }
    }
    org.apps.insert(slack.id.clone(), slack);
    org.apps.insert(zoom.id.clone(), zoom);
}

fn assign_groups<'a>(app: &mut App, rng: &mut StdRng, groups: impl Iterator<Item = &'a String>) {
    for (priority, gid) in groups.enumerate() {
        let last_updated = app.created + rng.gen_range(0..30 * DAY_MS);
        app.groups.insert(
            gid.clone(),
            AppGroup {
                priority: priority as u32,
                last_updated,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_is_deterministic() {
        let a = Org::seed(7, 200, 20, 600);
        let b = Org::seed(7, 200, 20, 600);
        assert_eq!(a.org_id, b.org_id);
        assert_eq!(
            a.users.keys().collect::<Vec<_>>(),
            b.users.keys().collect::<Vec<_>>()
        );
        assert_eq!(a.roster_app_id, b.roster_app_id);
        let c = Org::seed(8, 200, 20, 600);
        assert_ne!(a.org_id, c.org_id);
    }

    #[test]
    fn seeding_hits_requested_counts() {
        let org = Org::seed(3, 500, 40, 1500);
        assert_eq!(org.users.len(), 500);
        assert_eq!(org.groups.len(), 40);
        assert_eq!(org.memberships, 1500);
        let total: usize = org.groups.values().map(|g| g.members.len()).sum();
        assert_eq!(total, 1500);
        let roster = org.roster_app().expect("roster app");
        assert_eq!(roster.client_id.as_deref(), Some(ROSTER_CLIENT_ID));
        assert_eq!(roster.groups.len(), 38);
        assert!(
            roster.users.len() > 400 && roster.users.len() < 490,
            "{}",
            roster.users.len()
        );
        assert_eq!(org.apps.len(), 3);
    }

    #[test]
    fn group_assignments_are_consistent() {
        let org = Org::seed(11, 300, 30, 900);
        let roster = org.roster_app().expect("roster app");
        for gid in roster.groups.keys() {
            for uid in &org.groups[gid].members {
                if org.users[uid].status != UserStatus::Deprovisioned {
                    assert!(
                        roster.users.contains_key(uid),
                        "member {uid} of assigned group {gid} not assigned"
                    );
                }
            }
        }
    }
}
