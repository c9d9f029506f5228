//! Cases for tasks and call backs (issue 5's after-call form): created with a timeline entry in
//! one transaction, listed open and due ones first, patched, and visible to their people.

use super::{
    at, expect_conflict, expect_missing, expect_not_found, kinds, new_call, new_contact, new_deal,
    new_lead, new_user, plain_log, timeline,
};
use crate::*;
use std::sync::Arc;

fn task(title: &str, subject: Subject, assignee: UserId, due_at: Option<Timestamp>) -> NewTask {
    NewTask {
        title: title.to_string(),
        kind: TaskKind::Task,
        subject,
        due_at,
        assignee_id: assignee,
        created_by: Some(assignee),
        call_id: None,
        created_at: at(9, 0),
    }
}

fn all() -> Page {
    Page::new(Page::MAX_LIMIT, 0)
}

async fn titles(store: &dyn Store, filter: TaskFilter) -> Vec<String> {
    store
        .list_tasks(&filter, all())
        .await
        .expect("list tasks")
        .into_iter()
        .map(|t| t.title)
        .collect()
}

pub async fn tasks_round_trip_with_a_timeline_entry(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let boss = store
        .create_user(new_user("boss", None), None)
        .await
        .expect("user");
    let contact = store
        .create_contact(new_contact("Jan", &["+4930123456"]))
        .await
        .expect("contact");
    let logged = store
        .log_call(plain_log(
            new_call(Direction::Incoming, "+4930123456", "+4989998877", at(8, 0)),
            "+4989998877",
        ))
        .await
        .expect("call");
    let subject = Subject::Contact(contact.id);
    let created = store
        .create_task(NewTask {
            title: "Call back about the offer".into(),
            kind: TaskKind::CallBack,
            subject,
            due_at: Some(at(14, 30)),
            assignee_id: anna.id,
            created_by: Some(boss.id),
            call_id: Some(logged.call.id),
            created_at: at(9, 15),
        })
        .await
        .expect("create");
    assert_eq!(created.title, "Call back about the offer");
    assert_eq!(created.kind, TaskKind::CallBack);
    assert_eq!(created.subject, subject);
    assert_eq!(created.due_at, Some(at(14, 30)));
    assert_eq!(created.assignee_id, anna.id);
    assert_eq!(created.created_by, Some(boss.id));
    assert_eq!(created.call_id, Some(logged.call.id));
    assert_eq!(created.created_at, at(9, 15));
    assert_eq!(created.done_at, None);
    assert_eq!(store.get_task(created.id).await.expect("get"), created);
    expect_not_found(store.get_task(TaskId(created.id.0 + 1000)).await);

    // The subject's timeline tells that the task was created, by whom, from which call.
    let entries = timeline(store.as_ref(), subject).await;
    assert_eq!(kinds(&entries)[0], TimelineKind::TaskCreated);
    let entry = &entries[0];
    assert_eq!(entry.text.as_deref(), Some("Call back about the offer"));
    assert_eq!(entry.at, at(9, 15));
    assert_eq!(entry.author_id, Some(boss.id));
    assert_eq!(entry.call_id, Some(logged.call.id));

    // Leads and deals carry tasks too.
    let lead = store
        .create_lead(new_lead("Inquiry", &["+4930999"], LeadStatus::New))
        .await
        .expect("lead");
    let deal = store
        .create_deal(new_deal("Fleet", Some(contact.id), None), at(8, 0))
        .await
        .expect("deal");
    for subject in [Subject::Lead(lead.id), Subject::Deal(deal.id)] {
        let t = store
            .create_task(task("Send the offer", subject, anna.id, None))
            .await
            .expect("create");
        assert_eq!(t.subject, subject);
        assert_eq!(
            kinds(&timeline(store.as_ref(), subject).await),
            vec![TimelineKind::TaskCreated]
        );
    }
}

pub async fn task_references_must_exist_and_nothing_is_half_written(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let contact = store
        .create_contact(new_contact("Jan", &[]))
        .await
        .expect("contact");
    let subject = Subject::Contact(contact.id);
    let ok = task("Send the offer", subject, anna.id, None);

    let mut bad = ok.clone();
    bad.subject = Subject::Contact(ContactId(contact.id.0 + 100));
    expect_missing(store.create_task(bad).await, "subject", "contact");
    let mut bad = ok.clone();
    bad.subject = Subject::Lead(LeadId(77));
    expect_missing(store.create_task(bad).await, "subject", "lead");
    let mut bad = ok.clone();
    bad.assignee_id = UserId(anna.id.0 + 100);
    expect_missing(store.create_task(bad).await, "assignee_id", "user");
    let mut bad = ok.clone();
    bad.created_by = Some(UserId(anna.id.0 + 100));
    expect_missing(store.create_task(bad).await, "created_by", "user");
    let mut bad = ok.clone();
    bad.call_id = Some(CallId(12345));
    expect_missing(store.create_task(bad).await, "call_id", "call");

    // None of the refused tasks left a task or a timeline entry behind.
    assert!(titles(store.as_ref(), TaskFilter::default())
        .await
        .is_empty());
    assert!(timeline(store.as_ref(), subject).await.is_empty());

    // An API key creates tasks without an author.
    let mut by_key = ok.clone();
    by_key.created_by = None;
    let t = store.create_task(by_key).await.expect("create");
    assert_eq!(t.created_by, None);
    assert_eq!(timeline(store.as_ref(), subject).await[0].author_id, None);
}

pub async fn list_tasks_filters_orders_and_pages(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let ben = store
        .create_user(new_user("ben", None), None)
        .await
        .expect("user");
    let jan = store
        .create_contact(new_contact("Jan", &[]))
        .await
        .expect("contact");
    let eva = store
        .create_contact(new_contact("Eva", &[]))
        .await
        .expect("contact");
    let (jan_s, eva_s) = (Subject::Contact(jan.id), Subject::Contact(eva.id));

    // Anna's: one without a due time, one late, one early; one of Ben's that Anna wrote.
    let undated = store
        .create_task(task("undated", jan_s, anna.id, None))
        .await
        .expect("create");
    store
        .create_task(task("late", eva_s, anna.id, Some(at(16, 0))))
        .await
        .expect("create");
    let early = store
        .create_task(task("early", jan_s, anna.id, Some(at(10, 0))))
        .await
        .expect("create");
    let mut for_ben = task("for ben", jan_s, ben.id, Some(at(11, 0)));
    for_ben.created_by = Some(anna.id);
    store.create_task(for_ben).await.expect("create");
    store
        .create_task(task("ben's own", eva_s, ben.id, Some(at(9, 30))))
        .await
        .expect("create");

    // Open ones first, soonest due first, no due time last.
    assert_eq!(
        titles(store.as_ref(), TaskFilter::default()).await,
        ["ben's own", "early", "for ben", "late", "undated"]
    );
    let anna_filter = TaskFilter {
        assignee_id: Some(anna.id),
        ..Default::default()
    };
    assert_eq!(
        titles(store.as_ref(), anna_filter.clone()).await,
        ["early", "late", "undated"]
    );

    // Done ones go last, and can be filtered either way.
    store
        .update_task(
            early.id,
            TaskPatch {
                done: Some(true),
                ..Default::default()
            },
            at(10, 5),
        )
        .await
        .expect("done");
    assert_eq!(
        titles(store.as_ref(), anna_filter.clone()).await,
        ["late", "undated", "early"]
    );
    let open = TaskFilter {
        done: Some(false),
        ..anna_filter.clone()
    };
    assert_eq!(titles(store.as_ref(), open).await, ["late", "undated"]);
    let done = TaskFilter {
        done: Some(true),
        ..anna_filter.clone()
    };
    assert_eq!(titles(store.as_ref(), done).await, ["early"]);

    // Due before: strictly earlier; undated tasks are never due.
    let due = TaskFilter {
        due_before: Some(at(11, 0)),
        ..Default::default()
    };
    assert_eq!(titles(store.as_ref(), due).await, ["ben's own", "early"]);

    // By subject.
    let on_eva = TaskFilter {
        subject: Some(eva_s),
        ..Default::default()
    };
    assert_eq!(titles(store.as_ref(), on_eva).await, ["ben's own", "late"]);
    let on_lead = TaskFilter {
        subject: Some(Subject::Lead(LeadId(jan.id.0))),
        ..Default::default()
    };
    assert!(titles(store.as_ref(), on_lead).await.is_empty());

    // Visible to: assigned to or written by.
    let anna_sees = TaskFilter {
        visible_to: Some(anna.id),
        ..Default::default()
    };
    assert_eq!(
        titles(store.as_ref(), anna_sees).await,
        ["for ben", "late", "undated", "early"]
    );
    let ben_sees = TaskFilter {
        visible_to: Some(ben.id),
        ..Default::default()
    };
    assert_eq!(
        titles(store.as_ref(), ben_sees).await,
        ["ben's own", "for ben"]
    );

    // Pages follow the same order.
    let first = store
        .list_tasks(&TaskFilter::default(), Page::new(2, 0))
        .await
        .expect("page");
    let second = store
        .list_tasks(&TaskFilter::default(), Page::new(2, 2))
        .await
        .expect("page");
    let third = store
        .list_tasks(&TaskFilter::default(), Page::new(2, 4))
        .await
        .expect("page");
    let paged: Vec<String> = first
        .into_iter()
        .chain(second)
        .chain(third)
        .map(|t| t.title)
        .collect();
    assert_eq!(paged, ["ben's own", "for ben", "late", "undated", "early"]);
    assert_eq!(undated.due_at, None);
}

pub async fn update_task_patches_and_keeps_the_rules(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let ben = store
        .create_user(new_user("ben", None), None)
        .await
        .expect("user");
    let contact = store
        .create_contact(new_contact("Jan", &[]))
        .await
        .expect("contact");
    let subject = Subject::Contact(contact.id);
    let mut call_back = task("Call back", subject, anna.id, Some(at(14, 0)));
    call_back.kind = TaskKind::CallBack;
    let created = store.create_task(call_back).await.expect("create");

    let changed = store
        .update_task(
            created.id,
            TaskPatch {
                title: Some("  Call back about the fleet  ".into()),
                due_at: Some(Some(at(15, 0))),
                assignee_id: Some(ben.id),
                done: None,
            },
            at(10, 0),
        )
        .await
        .expect("update");
    assert_eq!(changed.title, "Call back about the fleet");
    assert_eq!(changed.due_at, Some(at(15, 0)));
    assert_eq!(changed.assignee_id, ben.id);
    assert_eq!(changed.done_at, None);
    assert_eq!(changed.created_at, created.created_at);
    assert_eq!(store.get_task(created.id).await.expect("get"), changed);

    // Done at `now`; done again keeps the first time; open again clears it.
    let mark = |done| TaskPatch {
        done: Some(done),
        ..Default::default()
    };
    let done = store
        .update_task(created.id, mark(true), at(11, 0))
        .await
        .expect("done");
    assert_eq!(done.done_at, Some(at(11, 0)));
    let again = store
        .update_task(created.id, mark(true), at(12, 0))
        .await
        .expect("done again");
    assert_eq!(again.done_at, Some(at(11, 0)));
    let reopened = store
        .update_task(created.id, mark(false), at(13, 0))
        .await
        .expect("reopen");
    assert_eq!(reopened.done_at, None);

    // Refused changes write nothing.
    let before = store.get_task(created.id).await.expect("get");
    expect_conflict(
        store
            .update_task(
                created.id,
                TaskPatch {
                    title: Some("kept?".into()),
                    due_at: Some(None),
                    ..Default::default()
                },
                at(13, 0),
            )
            .await,
        "due_at",
    );
    expect_missing(
        store
            .update_task(
                created.id,
                TaskPatch {
                    title: Some("kept?".into()),
                    assignee_id: Some(UserId(ben.id.0 + 100)),
                    ..Default::default()
                },
                at(13, 0),
            )
            .await,
        "assignee_id",
        "user",
    );
    assert_eq!(store.get_task(created.id).await.expect("get"), before);
    expect_not_found(
        store
            .update_task(TaskId(created.id.0 + 100), mark(true), at(13, 0))
            .await,
    );
    // Changes do not write timeline entries: only the creation is on the timeline.
    assert_eq!(
        kinds(&timeline(store.as_ref(), subject).await),
        vec![TimelineKind::TaskCreated]
    );
}

pub async fn deleting_a_contact_deletes_its_tasks(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let jan = store
        .create_contact(new_contact("Jan", &[]))
        .await
        .expect("contact");
    let eva = store
        .create_contact(new_contact("Eva", &[]))
        .await
        .expect("contact");
    store
        .create_task(task("about jan", Subject::Contact(jan.id), anna.id, None))
        .await
        .expect("create");
    store
        .create_task(task("about eva", Subject::Contact(eva.id), anna.id, None))
        .await
        .expect("create");
    store.delete_contact(jan.id).await.expect("delete");
    assert_eq!(
        titles(store.as_ref(), TaskFilter::default()).await,
        ["about eva"]
    );
}
