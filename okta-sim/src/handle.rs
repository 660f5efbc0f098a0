//! `SimHandle`: in-process control of a running simulator (the admin API calls the same methods).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::apps::{ServiceAppInfo, ServiceAppPatch, ServiceAppSpec};
use crate::config::RateLimitConfig;
use crate::errors::SimError;
use crate::event_hooks::{self, HookFaults, HookSpec};
use crate::faults::FaultRule;
use crate::mutate::{GroupPatch, NewGroup, NewUser, UserPatch};
use crate::org::UserStatus;
use crate::rate_limit::Bucket;
use crate::render;
use crate::state::Shared;
use crate::stats::StatsSnapshot;
use crate::syslog::{self, types, LogEvent, Target};
use crate::util::{lock, now_ms, read, write};

/// Counts and ids describing the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgSummary {
    pub org_id: String,
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
    pub apps: usize,
    pub roster_app_id: String,
    pub roster_client_id: String,
    pub roster_app_users: usize,
    pub roster_app_groups: usize,
    pub service_apps: usize,
}

/// Cheap to clone; every clone controls the same simulator.
#[derive(Clone)]
pub struct SimHandle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.shared.base_url)
            .finish()
    }
}

impl SimHandle {
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    // ---- service apps ----

    pub fn register_service_app(&self, spec: ServiceAppSpec) -> Result<ServiceAppInfo, SimError> {
        write(&self.shared.service_apps).create(spec, now_ms())
    }

    pub fn update_service_app(
        &self,
        client_id: &str,
        patch: ServiceAppPatch,
    ) -> Result<ServiceAppInfo, SimError> {
        write(&self.shared.service_apps).update(client_id, patch)
    }

    pub fn delete_service_app(&self, client_id: &str) -> Result<(), SimError> {
        write(&self.shared.service_apps).delete(client_id)
    }

    pub fn service_apps(&self) -> Vec<ServiceAppInfo> {
        read(&self.shared.service_apps).list()
    }

    pub fn service_app(&self, client_id: &str) -> Option<ServiceAppInfo> {
        read(&self.shared.service_apps)
            .get(client_id)
            .map(|a| a.info.clone())
    }

    // ---- org reads ----

    pub fn org_summary(&self) -> OrgSummary {
        let org = read(&self.shared.org);
        let roster = org.roster_app();
        OrgSummary {
            org_id: org.org_id.clone(),
            users: org.users.len(),
            groups: org.groups.len(),
            memberships: org.memberships,
            apps: org.apps.len(),
            roster_app_id: org.roster_app_id.clone(),
            roster_client_id: roster.and_then(|a| a.client_id.clone()).unwrap_or_default(),
            roster_app_users: roster.map_or(0, |a| a.users.len()),
            roster_app_groups: roster.map_or(0, |a| a.groups.len()),
            service_apps: read(&self.shared.service_apps).list().len(),
        }
    }

    pub fn roster_app_id(&self) -> String {
        read(&self.shared.org).roster_app_id.clone()
    }

    /// Every app id, in id order (the Roster app plus the seeded others).
    pub fn app_ids(&self) -> Vec<String> {
        read(&self.shared.org).apps.keys().cloned().collect()
    }

    pub fn user_ids(&self) -> Vec<String> {
        read(&self.shared.org).users.keys().cloned().collect()
    }

    pub fn group_ids(&self) -> Vec<String> {
        read(&self.shared.org).groups.keys().cloned().collect()
    }

    /// The user as `GET /api/v1/users/{id}` renders it.
    pub fn user(&self, id: &str) -> Option<Value> {
        read(&self.shared.org)
            .users
            .get(id)
            .map(|u| render::user(u, &self.shared.base_url))
    }

    pub fn group(&self, id: &str) -> Option<Value> {
        read(&self.shared.org)
            .groups
            .get(id)
            .map(|g| render::group(g, &self.shared.base_url))
    }

    /// Ids of users assigned to the app (directly or via a group), in id order.
    pub fn app_user_ids(&self, app_id: &str) -> Result<Vec<String>, SimError> {
        let org = read(&self.shared.org);
        let app = org
            .apps
            .get(app_id)
            .ok_or_else(|| SimError::NotFound(format!("app {app_id}")))?;
        Ok(app.users.keys().cloned().collect())
    }

    pub fn app_group_ids(&self, app_id: &str) -> Result<Vec<String>, SimError> {
        let org = read(&self.shared.org);
        let app = org
            .apps
            .get(app_id)
            .ok_or_else(|| SimError::NotFound(format!("app {app_id}")))?;
        Ok(app.groups.keys().cloned().collect())
    }

    pub fn group_member_ids(&self, group_id: &str) -> Result<Vec<String>, SimError> {
        let org = read(&self.shared.org);
        let group = org
            .groups
            .get(group_id)
            .ok_or_else(|| SimError::NotFound(format!("group {group_id}")))?;
        Ok(group.members.iter().cloned().collect())
    }

    // ---- org changes (each logged to the System Log, in the order made) ----

    /// Stamps a change's events into the System Log and hands them to the event hooks.
    /// Called with the org's write lock held, so the log's order is the changes' order.
    fn log(&self, events: Vec<LogEvent>) {
        if events.is_empty() {
            return;
        }
        let stamped = lock(&self.shared.syslog).append(events, now_ms());
        // No receiver only once the simulator is shutting down.
        let _ = self.shared.logged.send(stamped);
    }

    pub fn create_user(&self, user: NewUser) -> Result<String, SimError> {
        let mut org = write(&self.shared.org);
        let id = org.create_user(user, now_ms(), &mut rand::thread_rng())?;
        let mut events = vec![LogEvent::new(types::USER_CREATE, vec![Target::user(&org, &id)])];
        if org.users.get(&id).is_some_and(|u| u.status == UserStatus::Active) {
            events.push(LogEvent::new(types::USER_ACTIVATE, vec![Target::user(&org, &id)]));
        }
        self.log(events);
        Ok(id)
    }

    pub fn update_user(&self, id: &str, patch: UserPatch) -> Result<(), SimError> {
        let mut org = write(&self.shared.org);
        let was = org.users.get(id).map(|u| u.status);
        let profile_changed = patch.profile.is_some();
        let users = [id.to_owned()];
        let assigned = syslog::app_assignments(&org, &users);
        org.update_user(id, patch, now_ms())?;
        let mut events = Vec::new();
        if profile_changed {
            events.push(LogEvent::new(types::USER_PROFILE, vec![Target::user(&org, id)]));
        }
        let now = org.users.get(id).map(|u| u.status);
        if let Some(lifecycle) = was.zip(now).and_then(|(was, now)| syslog::status_event(was, now)) {
            events.push(LogEvent::new(lifecycle, vec![Target::user(&org, id)]));
        }
        let after = syslog::app_assignments(&org, &users);
        events.extend(syslog::assignment_events(&org, &assigned, &after));
        self.log(events);
        Ok(())
    }

    pub fn delete_user(&self, id: &str) -> Result<(), SimError> {
        let mut org = write(&self.shared.org);
        let target = Target::user(&org, id);
        let users = [id.to_owned()];
        let assigned = syslog::app_assignments(&org, &users);
        let mut removals = syslog::assignment_events(&org, &assigned, &Default::default());
        org.delete_user(id, now_ms())?;
        removals.insert(0, LogEvent::new(types::USER_DELETE, vec![target]));
        self.log(removals);
        Ok(())
    }

    pub fn create_group(&self, group: NewGroup) -> Result<String, SimError> {
        let mut org = write(&self.shared.org);
        let id = org.create_group(group, now_ms(), &mut rand::thread_rng())?;
        self.log(vec![LogEvent::new(
            types::GROUP_CREATE,
            vec![Target::group(&org, &id)],
        )]);
        Ok(id)
    }

    pub fn update_group(&self, group_id: &str, patch: GroupPatch) -> Result<(), SimError> {
        let mut org = write(&self.shared.org);
        org.update_group(group_id, patch, now_ms())?;
        self.log(vec![LogEvent::new(
            types::GROUP_PROFILE,
            vec![Target::group(&org, group_id)],
        )]);
        Ok(())
    }

    pub fn delete_group(&self, group_id: &str) -> Result<(), SimError> {
        let mut org = write(&self.shared.org);
        let target = Target::group(&org, group_id);
        let members: Vec<String> = org
            .groups
            .get(group_id)
            .map(|g| g.members.iter().cloned().collect())
            .unwrap_or_default();
        let assigned = syslog::app_assignments(&org, &members);
        org.delete_group(group_id)?;
        let mut events = vec![LogEvent::new(types::GROUP_DELETE, vec![target])];
        let after = syslog::app_assignments(&org, &members);
        events.extend(syslog::assignment_events(&org, &assigned, &after));
        self.log(events);
        Ok(())
    }

    pub fn add_group_member(&self, group_id: &str, user_id: &str) -> Result<(), SimError> {
        self.change_membership(group_id, user_id, true)
    }

    pub fn remove_group_member(&self, group_id: &str, user_id: &str) -> Result<(), SimError> {
        self.change_membership(group_id, user_id, false)
    }

    fn change_membership(&self, group_id: &str, user_id: &str, add: bool) -> Result<(), SimError> {
        let mut org = write(&self.shared.org);
        let member = org
            .groups
            .get(group_id)
            .is_some_and(|g| g.members.contains(user_id));
        let users = [user_id.to_owned()];
        let assigned = syslog::app_assignments(&org, &users);
        if add {
            org.add_member(group_id, user_id, now_ms())?;
        } else {
            org.remove_member(group_id, user_id, now_ms())?;
        }
        // Re-adding a member (or removing a non-member) changes nothing and logs nothing.
        if member == add {
            return Ok(());
        }
        let event_type = if add {
            types::MEMBER_ADD
        } else {
            types::MEMBER_REMOVE
        };
        let mut events = vec![LogEvent::new(
            event_type,
            vec![Target::user(&org, user_id), Target::group(&org, group_id)],
        )];
        let after = syslog::app_assignments(&org, &users);
        events.extend(syslog::assignment_events(&org, &assigned, &after));
        self.log(events);
        Ok(())
    }

    pub fn assign_user_to_app(&self, app_id: &str, user_id: &str) -> Result<(), SimError> {
        let mut org = write(&self.shared.org);
        let users = [user_id.to_owned()];
        let assigned = syslog::app_assignments(&org, &users);
        org.assign_user(app_id, user_id, now_ms())?;
        let after = syslog::app_assignments(&org, &users);
        let events = syslog::assignment_events(&org, &assigned, &after);
        self.log(events);
        Ok(())
    }

    pub fn unassign_user_from_app(&self, app_id: &str, user_id: &str) -> Result<(), SimError> {
        let mut org = write(&self.shared.org);
        let users = [user_id.to_owned()];
        let assigned = syslog::app_assignments(&org, &users);
        org.unassign_user(app_id, user_id, now_ms())?;
        let after = syslog::app_assignments(&org, &users);
        let events = syslog::assignment_events(&org, &assigned, &after);
        self.log(events);
        Ok(())
    }

    pub fn assign_group_to_app(&self, app_id: &str, group_id: &str) -> Result<(), SimError> {
        self.change_group_assignment(app_id, group_id, true)
    }

    pub fn unassign_group_from_app(&self, app_id: &str, group_id: &str) -> Result<(), SimError> {
        self.change_group_assignment(app_id, group_id, false)
    }

    fn change_group_assignment(&self, app_id: &str, group_id: &str, assign: bool) -> Result<(), SimError> {
        let mut org = write(&self.shared.org);
        let was = org
            .apps
            .get(app_id)
            .is_some_and(|a| a.groups.contains_key(group_id));
        let members: Vec<String> = org
            .groups
            .get(group_id)
            .map(|g| g.members.iter().cloned().collect())
            .unwrap_or_default();
        let assigned = syslog::app_assignments(&org, &members);
        if assign {
            org.assign_group(app_id, group_id, now_ms())?;
        } else {
            org.unassign_group(app_id, group_id)?;
        }
        if was == assign {
            return Ok(());
        }
        let event_type = if assign {
            types::GROUP_APP_ADD
        } else {
            types::GROUP_APP_REMOVE
        };
        let mut events = vec![LogEvent::new(
            event_type,
            vec![Target::app(&org, app_id), Target::group(&org, group_id)],
        )];
        let after = syslog::app_assignments(&org, &members);
        events.extend(syslog::assignment_events(&org, &assigned, &after));
        self.log(events);
        Ok(())
    }

    // ---- System Log and event hooks ----

    /// Events logged so far.
    pub fn system_log_len(&self) -> usize {
        lock(&self.shared.syslog).len()
    }

    /// Makes events logged from now on appear in `GET /api/v1/logs` only after `delay`
    /// (Okta's log is eventually consistent); zero restores at once.
    pub fn set_system_log_delay(&self, delay: Duration) {
        lock(&self.shared.syslog).visibility_delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
    }

    /// Registers an event hook (unverified: nothing is delivered until it is verified).
    pub fn create_event_hook(&self, spec: HookSpec) -> Result<Value, SimError> {
        lock(&self.shared.hooks).create(spec, now_ms())
    }

    /// Okta's verification call to the hook's URI; the hook as it is after.
    pub async fn verify_event_hook(&self, id: &str) -> Result<Value, SimError> {
        event_hooks::verify(&self.shared, id).await
    }

    /// Every hook, with the deliveries made to it.
    pub fn event_hooks(&self) -> Vec<Value> {
        lock(&self.shared.hooks).list()
    }

    pub fn delete_event_hook(&self, id: &str) -> Result<(), SimError> {
        lock(&self.shared.hooks).delete(id)
    }

    pub fn set_hook_faults(&self, faults: HookFaults) {
        lock(&self.shared.hooks).faults = faults;
    }

    // ---- behaviour knobs ----

    pub fn add_fault(&self, rule: FaultRule) {
        lock(&self.shared.faults).add(rule);
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Rules still pending (exhausted rules are dropped).
    pub fn faults(&self) -> Vec<FaultRule> {
        lock(&self.shared.faults).rules()
    }

    /// Lifetime of tokens issued from now on (`expires_in`); whole seconds, at least 1.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared
            .token_lifetime_s
            .store(lifetime.as_secs().max(1), Ordering::Relaxed);
    }

    /// Replaces the limit and window of every bucket and restarts all windows.
    pub fn set_rate_limit(&self, config: RateLimitConfig) -> Result<(), SimError> {
        config.validate()?;
        lock(&self.shared.limiter).reconfigure(config);
        Ok(())
    }

    /// Overrides one bucket's limit (`token`, `apps`, `users`, `groups`, `other`).
    pub fn set_bucket_limit(&self, bucket: &str, limit: u32) -> Result<(), SimError> {
        let b =
            Bucket::parse(bucket).ok_or_else(|| SimError::BadRequest(format!("unknown bucket {bucket}")))?;
        lock(&self.shared.limiter).set_bucket_limit(b, limit);
        Ok(())
    }

    pub fn rate_limit(&self) -> RateLimitConfig {
        lock(&self.shared.limiter).config()
    }

    /// Forces a new DPoP nonce; the previous one stays valid until the next rotation.
    pub fn rotate_dpop_nonce(&self) {
        lock(&self.shared.nonces).rotate(now_ms());
    }

    pub fn stats(&self) -> StatsSnapshot {
        lock(&self.shared.stats).snapshot()
    }

    pub fn reset_stats(&self) {
        lock(&self.shared.stats).reset();
    }
}
