//! The users table's keyset pages: every sort order walks all users exactly
//! once, in order, whatever the page boundaries.

use crate::okta_fixture::{ready, start_sim, ServiceApp};
use server::model::RunStatus;
use server::store::{UserFilter, UserSort};
use server::sync::Trigger;

#[tokio::test]
async fn every_sort_order_pages_through_all_users_once_and_in_order() {
    let f = ready(start_sim(57, 4, 60).await, ServiceApp::default()).await;
    let outcome = f
        .service
        .engine()
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let expected = f.expected_user_ids();
    for sort in [
        UserSort::Name,
        UserSort::Email,
        UserSort::Login,
        UserSort::Status,
        UserSort::Updated,
        UserSort::Groups,
    ] {
        let mut seen: Vec<(String, String)> = Vec::new();
        loop {
            let last = seen.last().cloned();
            let filter = UserFilter {
                sort,
                after: last.as_ref().map(|(k, id)| (k.as_str(), id.as_str())),
                ..UserFilter::default()
            };
            let page = f.store.list_users(&f.directory_id, &filter, 10).await.unwrap();
            if page.is_empty() {
                break;
            }
            seen.extend(page.into_iter().map(|r| (r.sort_key, r.okta_id)));
        }
        let mut ids: Vec<String> = seen.iter().map(|(_, id)| id.clone()).collect();
        let mut ordered = seen.clone();
        if sort == UserSort::Groups {
            // Counts order as numbers: 10 groups before 9.
            ordered.sort_by_key(|(k, id)| {
                (
                    std::cmp::Reverse(k.parse::<i64>().unwrap()),
                    std::cmp::Reverse(id.clone()),
                )
            });
            assert_ne!(
                ordered.first().map(|o| &o.0),
                ordered.last().map(|o| &o.0),
                "counts vary"
            );
        } else {
            ordered.sort();
        }
        if sort == UserSort::Updated {
            ordered.reverse();
        }
        assert_eq!(seen, ordered, "{sort:?} keeps its order across pages");
        ids.sort();
        assert_eq!(ids, expected, "{sort:?} lists every live user exactly once");
    }
    // Search and status narrow the same walk.
    let suspended = UserFilter {
        status: "SUSPENDED",
        ..UserFilter::default()
    };
    let rows = f
        .store
        .list_users(&f.directory_id, &suspended, 500)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.status == "SUSPENDED"));
    assert_eq!(
        f.store.count_users(&f.directory_id, &suspended).await.unwrap(),
        rows.len() as i64
    );
    let login = &f
        .store
        .list_users(&f.directory_id, &UserFilter::default(), 1)
        .await
        .unwrap()[0]
        .login;
    let by_login = UserFilter {
        search: login,
        ..UserFilter::default()
    };
    let found = f.store.list_users(&f.directory_id, &by_login, 500).await.unwrap();
    assert!(found.iter().any(|r| &r.login == login));
}
