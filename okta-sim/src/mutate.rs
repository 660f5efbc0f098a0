//! Org changes made by tests and the demo (users, groups, memberships, app assignments).
//!
//! Each change maintains Okta's invariants: `lastUpdated` on changed users, `lastMembershipUpdated`
//! on groups whose members change, and group-based app assignments (scope GROUP) following group
//! membership.

use rand::Rng;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::errors::SimError;
use crate::org::{AppGroup, AppUser, Group, GroupType, Org, Profile, User, UserStatus};
use crate::util::okta_id;

/// A user to create. `login` and `email` default to `first.last@example.com`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub employee_number: Option<String>,
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// Okta status name (`ACTIVE`, `STAGED`, ...); default `ACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
}

/// Changes to a user: partial profile (`null` clears an optional attribute) and/or a status change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub profile: Option<Map<String, Value>>,
    /// A lifecycle operation (`suspend`, `unsuspend`, `deactivate`, `activate`, `unlock`,
    /// `expire_password`) or a target Okta status name (`SUSPENDED`, `DEPROVISIONED`, ...).
    #[serde(default)]
    pub status: Option<String>,
}

/// Changes to a group's profile (`description: ""` clears it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `OKTA_GROUP` (default) or `APP_GROUP`.
    #[serde(default, rename = "type")]
    pub group_type: Option<String>,
}

fn user_not_found(id: &str) -> SimError {
    SimError::NotFound(format!("user {id}"))
}
fn group_not_found(id: &str) -> SimError {
    SimError::NotFound(format!("group {id}"))
}
fn app_not_found(id: &str) -> SimError {
    SimError::NotFound(format!("app {id}"))
}

impl Org {
    pub fn create_user(&mut self, new: NewUser, now: i64, rng: &mut impl Rng) -> Result<String, SimError> {
        if new.first_name.trim().is_empty() || new.last_name.trim().is_empty() {
            return Err(SimError::BadRequest("firstName and lastName are required".into()));
        }
        let login = new.login.clone().unwrap_or_else(|| {
            format!(
                "{}.{}@example.com",
                new.first_name.to_lowercase(),
                new.last_name.to_lowercase()
            )
        });
        if !login.contains('@') {
            return Err(SimError::BadRequest(
                "login must be an email-like username".into(),
            ));
        }
        if self
            .users
            .values()
            .any(|u| u.profile.login.eq_ignore_ascii_case(&login))
        {
            return Err(SimError::Conflict(format!("login {login} already exists")));
        }
        let status = match new.status.as_deref() {
            None => UserStatus::Active,
            Some(s) => {
                UserStatus::parse(s).ok_or_else(|| SimError::BadRequest(format!("unknown status {s}")))?
            }
        };
        let id = loop {
            let id = okta_id("00u", rng);
            if !self.users.contains_key(&id) {
                break id;
            }
        };
        let activated = (status != UserStatus::Staged && status != UserStatus::Provisioned).then_some(now);
        let user = User {
            id: id.clone(),
            status,
            created: now,
            activated,
            status_changed: (status != UserStatus::Staged).then_some(now),
            last_login: None,
            last_updated: now,
            password_changed: activated,
            profile: Profile {
                display_name: new
                    .display_name
                    .or_else(|| Some(format!("{} {}", new.first_name, new.last_name))),
                first_name: new.first_name,
                last_name: new.last_name,
                email: new.email.unwrap_or_else(|| login.clone()),
                login,
                department: new.department,
                title: new.title,
                employee_number: new.employee_number,
                mobile_phone: new.mobile_phone,
                ..Profile::default()
            },
        };
        self.users.insert(id.clone(), user);
        Ok(id)
    }

    pub fn update_user(&mut self, id: &str, patch: UserPatch, now: i64) -> Result<(), SimError> {
        let user = self.users.get(id).ok_or_else(|| user_not_found(id))?;
        // Validate everything before changing anything, so a bad patch leaves the user untouched.
        let mut profile = user.profile.clone();
        if let Some(changes) = &patch.profile {
            if let Some(login) = changes.get("login").and_then(Value::as_str) {
                if self
                    .users
                    .values()
                    .any(|u| u.id != id && u.profile.login.eq_ignore_ascii_case(login))
                {
                    return Err(SimError::Conflict(format!("login {login} already exists")));
                }
            }
            apply_profile(&mut profile, changes)?;
        }
        let new_status = match patch.status.as_deref() {
            None => None,
            Some(op) => Some(transition(user.status, op)?),
        };
        let Some(user) = self.users.get_mut(id) else {
            return Err(user_not_found(id));
        };
        if patch.profile.is_some() {
            user.profile = profile;
            user.last_updated = now;
        }
        let Some(status) = new_status else { return Ok(()) };
        if status == user.status {
            return Ok(());
        }
        let was_deprovisioned = user.status == UserStatus::Deprovisioned;
        user.status = status;
        user.status_changed = Some(now);
        user.last_updated = now;
        if status == UserStatus::Active && user.activated.is_none() {
            user.activated = Some(now);
        }
        if status == UserStatus::Deprovisioned {
            // Deactivation removes every app assignment (group memberships stay).
            for app in self.apps.values_mut() {
                app.users.remove(id);
            }
        } else if was_deprovisioned {
            self.derive_group_assignments(id, now);
        }
        Ok(())
    }

    pub fn delete_user(&mut self, id: &str, now: i64) -> Result<(), SimError> {
        self.users.remove(id).ok_or_else(|| user_not_found(id))?;
        for gid in self.user_groups.remove(id).unwrap_or_default() {
            if let Some(group) = self.groups.get_mut(&gid) {
                if group.members.remove(id) {
                    group.last_membership_updated = now;
                    self.memberships -= 1;
                }
            }
        }
        for app in self.apps.values_mut() {
            app.users.remove(id);
        }
        Ok(())
    }

    pub fn create_group(&mut self, new: NewGroup, now: i64, rng: &mut impl Rng) -> Result<String, SimError> {
        if new.name.trim().is_empty() {
            return Err(SimError::BadRequest("group name is required".into()));
        }
        let kind = match new.group_type.as_deref() {
            None | Some("OKTA_GROUP") => GroupType::Okta,
            Some("APP_GROUP") => GroupType::App,
            Some(other) => return Err(SimError::BadRequest(format!("unsupported group type {other}"))),
        };
        if self
            .groups
            .values()
            .any(|g| g.kind == GroupType::Okta && g.name == new.name)
        {
            return Err(SimError::Conflict(format!(
                "a group named {} already exists",
                new.name
            )));
        }
        let id = loop {
            let id = okta_id("00g", rng);
            if !self.groups.contains_key(&id) {
                break id;
            }
        };
        let group = Group {
            id: id.clone(),
            kind,
            name: new.name,
            description: new.description,
            created: now,
            last_updated: now,
            last_membership_updated: now,
            members: Default::default(),
        };
        self.groups.insert(id.clone(), group);
        Ok(id)
    }

    pub fn add_member(&mut self, group_id: &str, user_id: &str, now: i64) -> Result<(), SimError> {
        let status = self
            .users
            .get(user_id)
            .ok_or_else(|| user_not_found(user_id))?
            .status;
        let group = self
            .groups
            .get_mut(group_id)
            .ok_or_else(|| group_not_found(group_id))?;
        // Okta treats re-adding an existing member as a no-op success.
        if !group.members.insert(user_id.to_owned()) {
            return Ok(());
        }
        group.last_membership_updated = now;
        self.memberships += 1;
        self.user_groups
            .entry(user_id.to_owned())
            .or_default()
            .insert(group_id.to_owned());
        if status != UserStatus::Deprovisioned {
            for app in self.apps.values_mut().filter(|a| a.groups.contains_key(group_id)) {
                app.users.entry(user_id.to_owned()).or_insert(AppUser {
                    direct: false,
                    created: now,
                    last_updated: now,
                });
            }
        }
        Ok(())
    }

    pub fn remove_member(&mut self, group_id: &str, user_id: &str, now: i64) -> Result<(), SimError> {
        if !self.users.contains_key(user_id) {
            return Err(user_not_found(user_id));
        }
        let group = self
            .groups
            .get_mut(group_id)
            .ok_or_else(|| group_not_found(group_id))?;
        if !group.members.remove(user_id) {
            return Ok(());
        }
        group.last_membership_updated = now;
        self.memberships -= 1;
        if let Some(gs) = self.user_groups.get_mut(user_id) {
            gs.remove(group_id);
        }
        let app_ids: Vec<String> = self
            .apps
            .values()
            .filter(|a| a.groups.contains_key(group_id))
            .map(|a| a.id.clone())
            .collect();
        for app_id in app_ids {
            self.drop_group_only_assignment(&app_id, user_id);
        }
        Ok(())
    }

    pub fn assign_user(&mut self, app_id: &str, user_id: &str, now: i64) -> Result<(), SimError> {
        let user = self.users.get(user_id).ok_or_else(|| user_not_found(user_id))?;
        if user.status == UserStatus::Deprovisioned {
            return Err(SimError::BadRequest(format!("user {user_id} is deactivated")));
        }
        let app = self.apps.get_mut(app_id).ok_or_else(|| app_not_found(app_id))?;
        let entry = app.users.entry(user_id.to_owned()).or_insert(AppUser {
            direct: true,
            created: now,
            last_updated: now,
        });
        entry.direct = true;
        entry.last_updated = now;
        Ok(())
    }

    pub fn unassign_user(&mut self, app_id: &str, user_id: &str, now: i64) -> Result<(), SimError> {
        let via_group = self.in_assigned_group(app_id, user_id);
        let app = self.apps.get_mut(app_id).ok_or_else(|| app_not_found(app_id))?;
        let Some(assignment) = app.users.get_mut(user_id) else {
            return Err(SimError::NotFound(format!(
                "user {user_id} is not assigned to app {app_id}"
            )));
        };
        if via_group {
            if !assignment.direct {
                // Like Okta: a group-based assignment can only be removed through the group.
                return Err(SimError::Conflict(format!(
                    "user {user_id} is assigned to {app_id} via a group"
                )));
            }
            assignment.direct = false;
            assignment.last_updated = now;
        } else {
            app.users.remove(user_id);
        }
        Ok(())
    }

    pub fn assign_group(&mut self, app_id: &str, group_id: &str, now: i64) -> Result<(), SimError> {
        let group = self
            .groups
            .get(group_id)
            .ok_or_else(|| group_not_found(group_id))?;
        let app = self.apps.get_mut(app_id).ok_or_else(|| app_not_found(app_id))?;
        if app.groups.contains_key(group_id) {
            return Ok(());
        }
        let priority = app.groups.values().map(|g| g.priority + 1).max().unwrap_or(0);
        app.groups.insert(
            group_id.to_owned(),
            AppGroup {
                priority,
                last_updated: now,
            },
        );
        for uid in &group.members {
            if self
                .users
                .get(uid)
                .is_some_and(|u| u.status != UserStatus::Deprovisioned)
            {
                app.users.entry(uid.clone()).or_insert(AppUser {
                    direct: false,
                    created: now,
                    last_updated: now,
                });
            }
        }
        Ok(())
    }

    pub fn unassign_group(&mut self, app_id: &str, group_id: &str) -> Result<(), SimError> {
        let members: Vec<String> = self
            .groups
            .get(group_id)
            .ok_or_else(|| group_not_found(group_id))?
            .members
            .iter()
            .cloned()
            .collect();
        let app = self.apps.get_mut(app_id).ok_or_else(|| app_not_found(app_id))?;
        if app.groups.remove(group_id).is_none() {
            return Err(SimError::NotFound(format!(
                "group {group_id} is not assigned to app {app_id}"
            )));
        }
        for uid in members {
            self.drop_group_only_assignment(app_id, &uid);
        }
        Ok(())
    }

    /// Renames a group or changes its description (Okta groups only; app groups are the
    /// source app's).
    pub fn update_group(&mut self, group_id: &str, patch: GroupPatch, now: i64) -> Result<(), SimError> {
        let group = self
            .groups
            .get(group_id)
            .ok_or_else(|| group_not_found(group_id))?;
        if group.kind != GroupType::Okta {
            return Err(SimError::BadRequest(format!(
                "group {group_id} is not an OKTA_GROUP"
            )));
        }
        if let Some(name) = &patch.name {
            if name.trim().is_empty() {
                return Err(SimError::BadRequest("group name is required".into()));
            }
            if self
                .groups
                .values()
                .any(|g| g.id != group_id && g.kind == GroupType::Okta && &g.name == name)
            {
                return Err(SimError::Conflict(format!("a group named {name} already exists")));
            }
        }
        let Some(group) = self.groups.get_mut(group_id) else {
            return Err(group_not_found(group_id));
        };
        if let Some(name) = patch.name {
            group.name = name;
        }
        if let Some(description) = patch.description {
            group.description = Some(description).filter(|d| !d.is_empty());
        }
        group.last_updated = now;
        Ok(())
    }

    /// Deletes a group: its memberships and app assignments go, and with them the app
    /// assignments of members no other assigned group covers.
    pub fn delete_group(&mut self, group_id: &str) -> Result<(), SimError> {
        let group = self
            .groups
            .remove(group_id)
            .ok_or_else(|| group_not_found(group_id))?;
        for uid in &group.members {
            if let Some(gs) = self.user_groups.get_mut(uid) {
                gs.remove(group_id);
            }
        }
        self.memberships -= group.members.len();
        let app_ids: Vec<String> = self
            .apps
            .values_mut()
            .filter_map(|a| a.groups.remove(group_id).map(|_| a.id.clone()))
            .collect();
        for app_id in app_ids {
            for uid in &group.members {
                self.drop_group_only_assignment(&app_id, uid);
            }
        }
        Ok(())
    }

    /// Removes a GROUP-scoped assignment once no assigned group still covers the user.
    fn drop_group_only_assignment(&mut self, app_id: &str, user_id: &str) {
        if self.in_assigned_group(app_id, user_id) {
            return;
        }
        if let Some(app) = self.apps.get_mut(app_id) {
            if app.users.get(user_id).is_some_and(|a| !a.direct) {
                app.users.remove(user_id);
            }
        }
    }

    fn in_assigned_group(&self, app_id: &str, user_id: &str) -> bool {
        let (Some(app), Some(groups)) = (self.apps.get(app_id), self.user_groups.get(user_id)) else {
            return false;
        };
        groups.iter().any(|g| app.groups.contains_key(g))
    }

    /// Re-creates group-based assignments after a user is reactivated.
    fn derive_group_assignments(&mut self, user_id: &str, now: i64) {
        let Some(groups) = self.user_groups.get(user_id) else {
            return;
        };
        for app in self.apps.values_mut() {
            if groups.iter().any(|g| app.groups.contains_key(g)) {
                app.users.entry(user_id.to_owned()).or_insert(AppUser {
                    direct: false,
                    created: now,
                    last_updated: now,
                });
            }
        }
    }
}

/// Okta's lifecycle transitions, plus direct status names for setting up odd states in tests.
fn transition(from: UserStatus, op: &str) -> Result<UserStatus, SimError> {
    use UserStatus::*;
    let invalid = || SimError::BadRequest(format!("cannot {op} a user in status {}", from.as_str()));
    let to = match op {
        "suspend" => match from {
            Active => Suspended,
            _ => return Err(invalid()),
        },
        "unsuspend" => match from {
            Suspended => Active,
            _ => return Err(invalid()),
        },
        "deactivate" => Deprovisioned,
        "activate" | "reactivate" => match from {
            Staged | Provisioned | Deprovisioned => Active,
            _ => return Err(invalid()),
        },
        "unlock" => match from {
            LockedOut => Active,
            _ => return Err(invalid()),
        },
        "expire_password" => match from {
            Active => PasswordExpired,
            _ => return Err(invalid()),
        },
        other => UserStatus::parse(other)
            .ok_or_else(|| SimError::BadRequest(format!("unknown status or lifecycle operation {other}")))?,
    };
    Ok(to)
}

fn apply_profile(profile: &mut Profile, changes: &Map<String, Value>) -> Result<(), SimError> {
    for (key, value) in changes {
        let text = match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => {
                return Err(SimError::BadRequest(format!(
                    "profile.{key} must be a string or null"
                )))
            }
        };
        let required = |v: Option<String>| {
            v.filter(|s| !s.is_empty())
                .ok_or_else(|| SimError::BadRequest(format!("profile.{key} is required")))
        };
        match key.as_str() {
            "firstName" => profile.first_name = required(text)?,
            "lastName" => profile.last_name = required(text)?,
            "email" => profile.email = required(text)?,
            "login" => profile.login = required(text)?,
            "displayName" => profile.display_name = text,
            "department" => profile.department = text,
            "title" => profile.title = text,
            "employeeNumber" => profile.employee_number = text,
            "mobilePhone" => profile.mobile_phone = text,
            "secondEmail" => profile.second_email = text,
            "costCenter" => profile.cost_center = text,
            "city" => profile.city = text,
            "nickName" => profile.nick_name = text,
            other => return Err(SimError::BadRequest(format!("unknown profile attribute {other}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_assignment_follows_membership() {
        let mut org = Org::seed(5, 40, 6, 60);
        let mut rng = rand::thread_rng();
        let app_id = org
            .apps
            .values()
            .find(|a| a.name == "zoomus")
            .map(|a| a.id.clone())
            .expect("zoom");
        let gid = org.create_group(
            NewGroup {
                name: "Zoom users".into(),
                ..Default::default()
            },
            10,
            &mut rng,
        );
        let gid = gid.expect("group");
        let uid = org
            .create_user(
                NewUser {
                    first_name: "Test".into(),
                    last_name: "Person".into(),
                    ..Default::default()
                },
                10,
                &mut rng,
            )
            .expect("user");
        org.assign_group(&app_id, &gid, 20).expect("assign group");
        org.add_member(&gid, &uid, 30).expect("add member");
        assert!(org.apps[&app_id].users.get(&uid).is_some_and(|a| !a.direct));
        assert_eq!(org.groups[&gid].last_membership_updated, 30);
        assert!(org.unassign_user(&app_id, &uid, 35).is_err());
        org.remove_member(&gid, &uid, 40).expect("remove member");
        assert!(!org.apps[&app_id].users.contains_key(&uid));
        org.assign_user(&app_id, &uid, 50).expect("assign");
        org.update_user(
            &uid,
            UserPatch {
                status: Some("deactivate".into()),
                ..Default::default()
            },
            60,
        )
        .expect("deactivate");
        assert!(!org.apps[&app_id].users.contains_key(&uid));
        assert_eq!(org.users[&uid].status, UserStatus::Deprovisioned);
        org.delete_user(&uid, 70).expect("delete");
        assert!(!org.users.contains_key(&uid));
    }
}
