//! JSON shapes of Okta objects, built per request from borrowed org data.

use serde_json::{json, Map, Value};

use crate::org::{App, AppGroup, AppUser, Group, User, DEFAULT_USER_TYPE_ID};
use crate::util::rfc3339_millis;

fn ts(ms: i64) -> Value {
    Value::String(rfc3339_millis(ms))
}

fn opt_ts(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, ts)
}

fn href(url: String) -> Value {
    json!({ "href": url })
}

pub(crate) fn user(u: &User, base: &str) -> Value {
    let p = &u.profile;
    let mut profile = Map::new();
    profile.insert("firstName".into(), json!(p.first_name));
    profile.insert("lastName".into(), json!(p.last_name));
    // Okta always returns these two base attributes, as null when unset.
    profile.insert("mobilePhone".into(), json!(p.mobile_phone));
    profile.insert("secondEmail".into(), json!(p.second_email));
    profile.insert("login".into(), json!(p.login));
    profile.insert("email".into(), json!(p.email));
    let optional = [
        ("displayName", &p.display_name),
        ("department", &p.department),
        ("title", &p.title),
        ("employeeNumber", &p.employee_number),
        ("costCenter", &p.cost_center),
        ("city", &p.city),
        ("nickName", &p.nick_name),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            profile.insert(key.into(), json!(v));
        }
    }
    json!({
        "id": u.id,
        "status": u.status.as_str(),
        "created": ts(u.created),
        "activated": opt_ts(u.activated),
        "statusChanged": opt_ts(u.status_changed),
        "lastLogin": opt_ts(u.last_login),
        "lastUpdated": ts(u.last_updated),
        "passwordChanged": opt_ts(u.password_changed),
        "type": { "id": DEFAULT_USER_TYPE_ID },
        "profile": profile,
        "credentials": {
            "provider": { "type": "OKTA", "name": "OKTA" }
        },
        "_links": { "self": href(format!("{base}/api/v1/users/{}", u.id)) }
    })
}

pub(crate) fn group(g: &Group, base: &str) -> Value {
    json!({
        "id": g.id,
        "created": ts(g.created),
        "lastUpdated": ts(g.last_updated),
        "lastMembershipUpdated": ts(g.last_membership_updated),
        "objectClass": ["okta:user_group"],
        "type": g.kind.as_str(),
        "profile": { "name": g.name, "description": g.description },
        "_links": {
            "logo": [
                { "name": "medium", "href": format!("{base}/assets/img/logos/groups/okta-medium.png"), "type": "image/png" },
                { "name": "large", "href": format!("{base}/assets/img/logos/groups/okta-large.png"), "type": "image/png" }
            ],
            "users": href(format!("{base}/api/v1/groups/{}/users", g.id)),
            "apps": href(format!("{base}/api/v1/groups/{}/apps", g.id))
        }
    })
}

pub(crate) fn app(a: &App, base: &str) -> Value {
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "label": a.label,
        "status": "ACTIVE",
        "lastUpdated": ts(a.last_updated),
        "created": ts(a.created),
        "signOnMode": a.sign_on_mode,
        "features": [],
        "visibility": { "autoSubmitToolbar": false, "hide": { "iOS": false, "web": false } },
        "credentials": { "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" } },
        "_links": {
            "users": href(format!("{base}/api/v1/apps/{}/users", a.id)),
            "groups": href(format!("{base}/api/v1/apps/{}/groups", a.id)),
            "deactivate": href(format!("{base}/api/v1/apps/{}/lifecycle/deactivate", a.id)),
            "appLinks": [{
                "name": a.name, "href": format!("{base}/home/{}/{}/1", a.name, a.id), "type": "text/html"
            }]
        }
    });
    if let (Some(client_id), Some(creds)) = (&a.client_id, v.get_mut("credentials")) {
        creds["oauthClient"] = json!({
            "autoKeyRotation": true,
            "client_id": client_id,
            "token_endpoint_auth_method": "client_secret_basic"
        });
    }
    v
}

pub(crate) fn app_user(app_id: &str, user: &User, a: &AppUser, expand: bool, base: &str) -> Value {
    let mut v = json!({
        "id": user.id,
        "externalId": null,
        "created": ts(a.created),
        "lastUpdated": ts(a.last_updated),
        "scope": if a.direct { "USER" } else { "GROUP" },
        "status": "ACTIVE",
        "statusChanged": ts(a.created),
        "passwordChanged": null,
        "syncState": "DISABLED",
        "credentials": { "userName": user.profile.login },
        "profile": {},
        "_links": {
            "app": href(format!("{base}/api/v1/apps/{app_id}")),
            "user": href(format!("{base}/api/v1/users/{}", user.id))
        }
    });
    if expand {
        v["_embedded"] = json!({ "user": self::user(user, base) });
    }
    v
}

pub(crate) fn app_group(app_id: &str, group: &Group, a: &AppGroup, expand: bool, base: &str) -> Value {
    let mut v = json!({
        "id": group.id,
        "lastUpdated": ts(a.last_updated),
        "priority": a.priority,
        "profile": {},
        "_links": {
            "app": href(format!("{base}/api/v1/apps/{app_id}")),
            "group": href(format!("{base}/api/v1/groups/{}", group.id))
        }
    });
    if expand {
        v["_embedded"] = json!({ "group": self::group(group, base) });
    }
    v
}
