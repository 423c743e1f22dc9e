//! Who may see and join a room: private rooms and their invite links, public rooms and the
//! directory, bans. A room someone may not see answers exactly as a missing one does.

use crate::chat::{create_room, invite_link, join, room_view};
use crate::helpers::{Browser, new_client_id, spawn_app};
use app::models::ws::{ClientMsg, ErrorCode, RoomCursor};
use reqwest::StatusCode;
use serde_json::Value;

async fn status_and_body(b: &mut Browser, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let res = b.call(endpoint, form).await;
    (res.status(), res.text().await.unwrap())
}

async fn join_with(b: &mut Browser, room: &str) -> (StatusCode, String) {
    status_and_body(b, "join_room", &[("room", room)]).await
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

async fn me_id(b: &mut Browser) -> String {
    b.me().await["id"].to_string()
}

#[tokio::test]
async fn a_private_room_does_not_exist_for_anyone_outside_it() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let room = create_room(&mut ada, "Secret plans").await;
    ada.call("rename_room", &[("room", &room.to_string()), ("name", "Secret plans"), ("topic", "the topic")]).await;
    let mut eve = app.signed_up("eve").await;
    let missing = (room + 1000).to_string();

    // The same answer as a room that was never created: no name, no topic, no creator.
    let seen = status_and_body(&mut eve, "chat_room", &[("room", &room.to_string())]).await;
    let never = status_and_body(&mut eve, "chat_room", &[("room", &missing)]).await;
    assert_eq!(seen.0, StatusCode::NOT_FOUND);
    assert_eq!(seen, never);
    assert!(!seen.1.contains("Secret") && !seen.1.contains("topic"));
    // Its number does not let anyone in.
    let by_id = join_with(&mut eve, &room.to_string()).await;
    assert_eq!(by_id.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(by_id, join_with(&mut eve, &missing).await);
    // The page says "not found" and nothing of the room.
    let page = eve.get(&format!("/chat/{room}")).await.text().await.unwrap();
    assert!(!page.contains("Secret plans"), "the page names the room");
    // Nor does the socket: no frame of hers reaches it, no replay leaks it.
    let mut tab = eve.socket().await;
    tab.send(&ClientMsg::Sync { rooms: vec![RoomCursor { room, after: 0 }] }).await;
    assert_eq!(tab.error().await.0, ErrorCode::NotMember);
    tab.send(&ClientMsg::Send { room, client_id: new_client_id(), body: "hi".into() }).await;
    assert_eq!(tab.error().await.0, ErrorCode::NotMember);
    assert_eq!(room_view(&mut ada, room).await["last_seq"], 0, "nothing was stored");
}

#[tokio::test]
async fn an_invite_link_lets_people_in_until_it_is_replaced() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let room = create_room(&mut ada, "Book club").await;
    let old = invite_link(&mut ada, room).await;
    assert!(old.starts_with(&format!("/chat/join/{room}.")), "{old}");
    let mut bob = app.signed_up("bob").await;

    // The link shows what it leads to, then joins.
    let preview: Value = bob.call("invite_preview", &[("token", old.rsplit('/').next().unwrap())]).await.json().await.unwrap();
    assert_eq!((preview["name"].as_str(), preview["members"].as_i64()), (Some("Book club"), Some(1)));
    assert_eq!(join_with(&mut bob, &app.url(&old)).await.0, StatusCode::OK);
    assert_eq!(room_view(&mut bob, room).await["is_member"], true);
    assert!(room_view(&mut bob, room).await["invite"].is_null(), "only the creator holds the link");

    // A forged token, another room's number on this MAC, and a regenerated link are refused.
    let mut cy = app.signed_up("cyd").await;
    let forged = format!("/chat/join/{room}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(join_with(&mut cy, &forged).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let r = room.to_string();
    assert_eq!(ada.call("regenerate_invite", &[("room", &r), ("expires_in_hours", ""), ("max_uses", "")]).await.status(), StatusCode::OK);
    let (status, body) = join_with(&mut cy, &old).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("invalid or has expired"), "{body}");
    let new = invite_link(&mut ada, room).await;
    assert_ne!(new, old);
    assert_eq!(join_with(&mut cy, &new).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_invite_link_can_be_limited_in_uses_and_in_time() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let room = create_room(&mut ada, "Limited").await;
    let r = room.to_string();
    assert_eq!(ada.call("regenerate_invite", &[("room", &r), ("expires_in_hours", "24"), ("max_uses", "1")]).await.status(), StatusCode::OK);
    let link = invite_link(&mut ada, room).await;
    let view = room_view(&mut ada, room).await;
    assert_eq!((view["invite"]["max_uses"].as_i64(), view["invite"]["uses"].as_i64()), (Some(1), Some(0)));
    assert!(view["invite"]["expires_at"].as_i64().is_some());

    let mut bob = app.signed_up("bob").await;
    assert_eq!(join_with(&mut bob, &link).await.0, StatusCode::OK);
    // Opening it again as a member uses nothing up.
    assert_eq!(join_with(&mut bob, &link).await.0, StatusCode::OK);
    let mut cy = app.signed_up("cyd").await;
    assert_eq!(join_with(&mut cy, &link).await.0, StatusCode::UNPROCESSABLE_ENTITY, "one use only");

    // A link past its time is refused too.
    ada.call("regenerate_invite", &[("room", &r), ("expires_in_hours", "1"), ("max_uses", "")]).await;
    let link = invite_link(&mut ada, room).await;
    app.execute("update rooms set invite_expires_at = $1 where id = $2", &[1, room]).await;
    assert_eq!(join_with(&mut cy, &link).await.0, StatusCode::UNPROCESSABLE_ENTITY, "expired");
    // Bad limits are refused with a field error; others may not touch the link at all.
    let res = ada.call("regenerate_invite", &[("room", &r), ("expires_in_hours", "-1"), ("max_uses", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(cy.call("regenerate_invite", &[("room", &r), ("expires_in_hours", ""), ("max_uses", "")]).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_creator_may_let_every_member_invite() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let room = create_room(&mut ada, "Team").await;
    join(&mut ada, &mut bob, room).await;
    let r = room.to_string();
    assert_eq!(bob.call("add_member", &[("room", &r), ("username", "cyd")]).await.status(), StatusCode::FORBIDDEN);
    let mut eve = app.signed_up("eve").await;
    assert_eq!(eve.call("add_member", &[("room", &r), ("username", "eve")]).await.status(), StatusCode::NOT_FOUND, "a stranger learns nothing");
    assert_eq!(bob.call("room_access", &[("room", &r), ("visibility", "public")]).await.status(), StatusCode::FORBIDDEN);

    let res = ada.call("room_access", &[("room", &r), ("visibility", "private"), ("members_invite", "on")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(room_view(&mut bob, room).await["invite"]["path"].is_string(), "now Bob holds the link too");
    let mut cy = app.signed_up("cyd").await;
    assert_eq!(bob.call("add_member", &[("room", &r), ("username", "CYD")]).await.status(), StatusCode::OK);
    assert_eq!(room_view(&mut cy, room).await["is_member"], true);
    let res = bob.call("add_member", &[("room", &r), ("username", "nobody_here")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_removed_member_stays_out_until_someone_adds_them_again() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let room = create_room(&mut ada, "Team").await;
    let r = room.to_string();
    ada.call("room_access", &[("room", &r), ("visibility", "public")]).await;
    let link = invite_link(&mut ada, room).await;
    assert_eq!(join_with(&mut bob, &link).await.0, StatusCode::OK);
    let bob_id = me_id(&mut bob).await;
    assert_eq!(ada.call("remove_member", &[("room", &r), ("user_id", &bob_id)]).await.status(), StatusCode::OK);

    // Not by the old link, not by a new one, not by the directory or the room's number.
    let (status, body) = join_with(&mut bob, &link).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("removed"), "{body}");
    ada.call("regenerate_invite", &[("room", &r), ("expires_in_hours", ""), ("max_uses", "")]).await;
    assert_eq!(join_with(&mut bob, &invite_link(&mut ada, room).await).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(join_with(&mut bob, &r).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let listed: Value = bob.call("public_rooms", &[("q", "")]).await.json().await.unwrap();
    assert!(!ids(&listed).contains(&room));
    assert_eq!(bob.call("chat_room", &[("room", &r)]).await.status(), StatusCode::NOT_FOUND);

    // Added again by name: the ban is gone.
    assert_eq!(ada.call("add_member", &[("room", &r), ("username", "bob")]).await.status(), StatusCode::OK);
    assert_eq!(room_view(&mut bob, room).await["is_member"], true);
}

#[tokio::test]
async fn a_public_room_is_listed_and_anyone_signed_in_may_join() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let public = crate::helpers::created(&mut ada, "create_room", &[("name", "Rust 100%_fans"), ("topic", "crabs"), ("visibility", "public")]).await;
    let private = create_room(&mut ada, "Rust core").await;
    let mut bob = app.signed_up("bob").await;

    let found: Value = bob.call("public_rooms", &[("q", "rust")]).await.json().await.unwrap();
    assert_eq!(ids(&found), [public]);
    assert_eq!((found[0]["topic"].as_str(), found[0]["joined"].as_i64()), (Some("crabs"), Some(0)));
    // Wildcards in the search are taken literally.
    assert_eq!(ids(&bob.call("public_rooms", &[("q", "100%_")]).await.json().await.unwrap()), [public]);
    assert_eq!(ids(&bob.call("public_rooms", &[("q", "%")]).await.json().await.unwrap()), [public]);
    assert!(ids(&bob.call("public_rooms", &[("q", "1%0")]).await.json().await.unwrap()).is_empty());

    // A visitor sees the name and topic, not the members or messages, and joins by number.
    let view = room_view(&mut bob, public).await;
    assert_eq!((view["is_member"].as_bool(), view["title"].as_str()), (Some(false), Some("Rust 100%_fans")));
    assert!(view["members"].as_array().unwrap().is_empty() && view["messages"].as_array().unwrap().is_empty());
    assert!(view["invite"].is_null());
    assert_eq!(join_with(&mut bob, &public.to_string()).await.0, StatusCode::OK);
    assert_eq!(room_view(&mut bob, public).await["is_member"], true);
    assert_eq!(join_with(&mut bob, &private.to_string()).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // Made private again, it leaves the directory; its members stay.
    ada.call("room_access", &[("room", &public.to_string()), ("visibility", "private")]).await;
    assert!(ids(&bob.call("public_rooms", &[("q", "")]).await.json().await.unwrap()).is_empty());
    assert_eq!(room_view(&mut bob, public).await["is_member"], true);
    let mut cy = app.signed_up("cyd").await;
    assert_eq!(cy.call("chat_room", &[("room", &public.to_string())]).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_directory_lists_the_most_recently_active_public_rooms_first() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let older = crate::helpers::created(&mut ada, "create_room", &[("name", "Older"), ("topic", ""), ("visibility", "public")]).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let newer = crate::helpers::created(&mut ada, "create_room", &[("name", "Newer"), ("topic", ""), ("visibility", "public")]).await;
    let mut bob = app.signed_up("bob").await;
    assert_eq!(ids(&bob.call("public_rooms", &[("q", "")]).await.json().await.unwrap()), [newer, older]);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    ada.socket().await.say(older, "back to life").await;
    assert_eq!(ids(&bob.call("public_rooms", &[("q", "")]).await.json().await.unwrap()), [older, newer]);
}

#[tokio::test]
async fn an_invite_link_opened_signed_out_comes_back_after_signing_in() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let room = create_room(&mut ada, "Book club").await;
    let link = invite_link(&mut ada, room).await;
    app.signed_up("bob").await;

    let mut bob = app.browser();
    let res = bob.get(&link).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let to_login = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to_login.starts_with("/login?next=%2Fchat%2Fjoin%2F"), "{to_login}");
    // The login page carries it into its form; the form post goes there.
    let page = bob.get(&to_login).await.text().await.unwrap();
    assert!(page.contains(&format!(r#"name="next" value="{link}""#)), "the form keeps where to go next");
    let res = bob.form_post("login", &to_login, &[("login", "bob"), ("password", crate::helpers::STRONG_PASSWORD), ("next", &link)]).await;
    assert_eq!(res.headers()["location"], link.as_str());
    // Only to a page of this site.
    for elsewhere in ["https://evil.example/", "//evil.example/", "/\\evil.example"] {
        let mut b = app.browser();
        let res = b.form_post("login", "/login", &[("login", "bob"), ("password", crate::helpers::STRONG_PASSWORD), ("next", elsewhere)]).await;
        assert_eq!(res.headers()["location"], "/", "{elsewhere}");
    }
}

#[tokio::test]
async fn removing_someone_who_is_not_a_member_changes_nothing_and_fails_nothing() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let room = create_room(&mut ada, "Team").await;
    let r = room.to_string();
    let bob_id = me_id(&mut bob).await;
    for user in [bob_id.as_str(), "999999", "-1"] {
        assert_eq!(ada.call("remove_member", &[("room", &r), ("user_id", user)]).await.status(), StatusCode::OK, "{user}");
    }
    // Bob was never in the room, so he was not banned: the link still lets him in.
    assert_eq!(join_with(&mut bob, &invite_link(&mut ada, room).await).await.0, StatusCode::OK);
}
