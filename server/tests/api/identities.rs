//! The identity write API (what SCIM will call): each write is one
//! transaction, keeps both membership tables and the group counts right,
//! refuses what it cannot apply without changing anything, and a later pull
//! sync brings the directory back to what Okta says.

use crate::okta_fixture::{ready, start_sim, ServiceApp};
use serde_json::json;
use server::{
    domain::{
        identities::{GroupInput, Members, UserInput, UserQuery, WriteOutcome},
        ErrorKind, PageRequest,
    },
    model::{DirectoryId, OktaGroupId, OktaUserId, RunStatus, Trigger},
};

fn user(id: &str, login: &str, status: &str) -> UserInput {
    let profile = json!({ "login": login, "email": login, "firstName": "Ada", "lastName": id });
    UserInput {
        id: OktaUserId::parse(id).unwrap(),
        status: status.into(),
        profile: profile.as_object().unwrap().clone(),
        last_updated: None,
    }
}

#[tokio::test]
async fn single_writes_keep_users_groups_and_members_consistent() {
    let f = ready(start_sim(30, 3, 60).await, ServiceApp::default()).await;
    let outcome = f
        .service
        .engine()
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let core = &f.app.state.core;
    let dir = DirectoryId::parse(&f.directory_id).unwrap();
    let ids = &core.identities;
    let all = |search: &str| UserQuery {
        search: search.into(),
        page: PageRequest::first(200),
        ..UserQuery::default()
    };
    let before = ids.users(&dir, &all("")).await.unwrap().total;

    // A new user, then the same again (unchanged), then a change.
    let ada = user("00uPUSHED0001", "ada.pushed@example.com", "ACTIVE");
    assert_eq!(
        ids.upsert_user(&dir, ada.clone(), "test").await.unwrap(),
        WriteOutcome::Created
    );
    assert_eq!(
        ids.upsert_user(&dir, ada.clone(), "test").await.unwrap(),
        WriteOutcome::Unchanged
    );
    assert_eq!(ids.users(&dir, &all("")).await.unwrap().total, before + 1);
    let ada_id = ada.id.clone();
    assert_eq!(
        ids.set_user_status(&dir, &ada_id, "SUSPENDED", "test")
            .await
            .unwrap(),
        WriteOutcome::Updated
    );
    let detail = ids.user(&dir, &ada_id).await.unwrap();
    assert_eq!(detail.status, "SUSPENDED");
    let events: Vec<&str> = detail.history.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["status", "added"]);

    // A group with members; counts follow.
    let gid = OktaGroupId::parse("00gPUSHED0001").unwrap();
    let group = GroupInput {
        id: gid.clone(),
        name: "Pushed engineers".into(),
        description: Some("from a push".into()),
        kind: "OKTA_GROUP".into(),
    };
    assert_eq!(
        ids.upsert_group(&dir, group).await.unwrap(),
        WriteOutcome::Created
    );
    let someone = ids
        .users(&dir, &all(""))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|u| u.id != ada_id)
        .unwrap()
        .id;
    let changed = ids
        .write_members(&dir, &gid, Members::Add(&[ada_id.clone(), someone.clone()]))
        .await
        .unwrap();
    assert_eq!(changed.added.len(), 2);
    let members = ids.members(&dir, &gid, &PageRequest::first(50)).await.unwrap();
    assert_eq!(members.total, 2);
    assert!(ids
        .user(&dir, &ada_id)
        .await
        .unwrap()
        .groups
        .iter()
        .any(|g| g.id == gid));
    let row = |page: server::domain::Page<server::domain::identities::UserSummary>, id: &OktaUserId| {
        page.items.into_iter().find(|u| &u.id == id).map(|u| u.groups)
    };
    assert_eq!(
        row(ids.users(&dir, &all("ada.pushed")).await.unwrap(), &ada_id),
        Some(1)
    );

    // An unknown user refuses the whole change: nothing is added.
    let ghost = OktaUserId::parse("00uNOSUCHUSER").unwrap();
    let refused = ids
        .write_members(&dir, &gid, Members::Replace(&[ada_id.clone(), ghost]))
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Invalid);
    assert!(refused.message.contains("00uNOSUCHUSER"), "{}", refused.message);
    assert_eq!(
        ids.members(&dir, &gid, &PageRequest::first(50))
            .await
            .unwrap()
            .total,
        2
    );

    // Replace: exactly Ada afterwards.
    let changed = ids
        .write_members(&dir, &gid, Members::Replace(std::slice::from_ref(&ada_id)))
        .await
        .unwrap();
    assert_eq!((changed.added.len(), changed.removed), (0, vec![someone.clone()]));

    // Deactivating Ada removes her from lists and memberships, keeps her history.
    assert_eq!(
        ids.deactivate_user(&dir, &ada_id, "test").await.unwrap(),
        WriteOutcome::Removed
    );
    assert_eq!(
        ids.members(&dir, &gid, &PageRequest::first(50))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(ids.group(&dir, &gid).await.unwrap().members, 0);
    let gone = ids.user(&dir, &ada_id).await.unwrap();
    assert!(gone.removed_at.is_some() && gone.groups.is_empty());
    assert_eq!(gone.history[0].event, "removed");
    assert_eq!(ids.users(&dir, &all("")).await.unwrap().total, before);
    let again = ids.deactivate_user(&dir, &ada_id, "test").await.unwrap_err();
    assert_eq!(again.kind, ErrorKind::NotFound);
    // A removed user cannot be added to a group.
    let refused = ids
        .write_members(&dir, &gid, Members::Add(std::slice::from_ref(&ada_id)))
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Invalid);
    // Back again: created, and her kept membership shows again (Okta keeps
    // the group memberships of deactivated users too).
    assert_eq!(
        ids.upsert_user(&dir, ada, "test").await.unwrap(),
        WriteOutcome::Created
    );
    assert!(ids
        .user(&dir, &ada_id)
        .await
        .unwrap()
        .groups
        .iter()
        .any(|g| g.id == gid));
    assert_eq!(ids.group(&dir, &gid).await.unwrap().members, 1);
    assert_eq!(
        row(ids.users(&dir, &all("ada.pushed")).await.unwrap(), &ada_id),
        Some(1)
    );

    // Deleting the group drops it and its memberships.
    ids.write_members(&dir, &gid, Members::Add(std::slice::from_ref(&ada_id)))
        .await
        .unwrap();
    assert_eq!(ids.delete_group(&dir, &gid).await.unwrap(), WriteOutcome::Removed);
    assert!(ids.group(&dir, &gid).await.unwrap().removed);
    let members = ids
        .members(&dir, &gid, &PageRequest::first(50))
        .await
        .unwrap_err();
    assert_eq!(
        members.kind,
        ErrorKind::NotFound,
        "a removed group has no members to list"
    );
    let by_group = UserQuery {
        group: Some(gid.clone()),
        ..all("")
    };
    assert_eq!(
        ids.users(&dir, &by_group).await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        row(ids.users(&dir, &all("ada.pushed")).await.unwrap(), &ada_id),
        Some(0)
    );
    assert_eq!(
        ids.delete_group(&dir, &gid).await.unwrap_err().kind,
        ErrorKind::NotFound
    );

    // Bad input changes nothing.
    let mut nameless = user("00uPUSHED0002", "x@example.com", "ACTIVE");
    nameless.profile.remove("login");
    assert_eq!(
        ids.upsert_user(&dir, nameless, "test").await.unwrap_err().kind,
        ErrorKind::Invalid
    );
    let odd = user("00uPUSHED0003", "y@example.com", "HAPPY");
    assert_eq!(
        ids.upsert_user(&dir, odd, "test").await.unwrap_err().kind,
        ErrorKind::Invalid
    );
    assert_eq!(ids.users(&dir, &all("")).await.unwrap().total, before + 1);

    // The next pull sync restores what Okta says: pushed records Okta does not
    // have are removed, Okta's users all present again.
    let outcome = f
        .service
        .engine()
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    let listed: Vec<String> = {
        let mut v: Vec<String> = ids
            .users(&dir, &all(""))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|u| u.id.to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(listed, f.expected_user_ids());
}
