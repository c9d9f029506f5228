//! Cases for the SIP credentials of users (issue 4): hashes only, one set per user, user
//! names unique.

use super::{at, expect_conflict, expect_not_found, new_user};
use crate::*;
use std::sync::Arc;

fn credentials(user_id: UserId, username: &str, realm: &str, n: u8) -> SipCredentials {
    SipCredentials {
        user_id,
        username: username.to_string(),
        realm: realm.to_string(),
        ha1_md5: format!("{n:032x}"),
        ha1_sha256: format!("{n:064x}"),
        updated_at: at(9, n.into()),
    }
}

pub async fn sip_credentials_round_trip_and_are_replaced(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", Some("101")), None)
        .await
        .expect("create");
    assert_eq!(store.get_sip_credentials(anna.id).await.expect("get"), None);
    assert_eq!(
        store.find_sip_credentials("anna").await.expect("find"),
        None
    );

    let first = credentials(anna.id, "anna", "pbx.example", 1);
    store.set_sip_credentials(first.clone()).await.expect("set");
    assert_eq!(
        store.get_sip_credentials(anna.id).await.expect("get"),
        Some(first.clone())
    );
    assert_eq!(
        store.find_sip_credentials("anna").await.expect("find"),
        Some(first)
    );
    assert_eq!(
        store.find_sip_credentials("Anna").await.expect("find"),
        None,
        "digest user names are compared exactly: H(A1) hashes the exact text"
    );

    // Setting again replaces every field, the user name too.
    let second = credentials(anna.id, "101", "other.example", 2);
    store
        .set_sip_credentials(second.clone())
        .await
        .expect("replace");
    assert_eq!(
        store.get_sip_credentials(anna.id).await.expect("get"),
        Some(second.clone())
    );
    assert_eq!(
        store.find_sip_credentials("anna").await.expect("find"),
        None
    );
    assert_eq!(
        store.find_sip_credentials("101").await.expect("find"),
        Some(second)
    );

    store.delete_sip_credentials(anna.id).await.expect("delete");
    assert_eq!(store.get_sip_credentials(anna.id).await.expect("get"), None);
    assert_eq!(store.find_sip_credentials("101").await.expect("find"), None);
    store
        .delete_sip_credentials(anna.id)
        .await
        .expect("deleting nothing is fine");
    // The web sign-in is another thing entirely and stays untouched.
    let (user, hash) = store
        .find_user_by_login("anna")
        .await
        .expect("find")
        .expect("found");
    assert_eq!(user, anna);
    assert_eq!(hash, None);
}

pub async fn sip_user_names_are_unique_and_users_must_exist(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("create anna");
    let bob = store
        .create_user(new_user("bob", None), None)
        .await
        .expect("create bob");
    store
        .set_sip_credentials(credentials(anna.id, "desk", "r", 1))
        .await
        .expect("set anna");
    expect_conflict(
        store
            .set_sip_credentials(credentials(bob.id, "desk", "r", 2))
            .await,
        "username",
    );
    assert_eq!(
        store
            .find_sip_credentials("desk")
            .await
            .expect("find")
            .map(|c| c.user_id),
        Some(anna.id),
        "the refused write changed nothing"
    );
    assert_eq!(store.get_sip_credentials(bob.id).await.expect("get"), None);
    store
        .set_sip_credentials(credentials(bob.id, "bob", "r", 3))
        .await
        .expect("another name is fine");
    expect_not_found(
        store
            .set_sip_credentials(credentials(UserId(4242), "ghost", "r", 4))
            .await,
    );
    assert_eq!(
        store.find_sip_credentials("ghost").await.expect("find"),
        None
    );
}
