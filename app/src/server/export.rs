//! CSV export of a filtered range of expenses, streamed page by page (RFC 4180, UTF-8).

use super::auth::CurrentSession;
use super::db::expenses::{Direction, ExpenseFilter};
use super::{AppState, clock, db};
use crate::api::expenses::{ListQuery, parse_filter};
use crate::models::AppError;
use crate::models::expense::{Cursor, Expense};
use crate::models::money::Currency;
use crate::models::time::Day;
use crate::models::text::defuse_formula;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const BATCH: i64 = 500;

/// `GET /reports/expenses.csv?from=…&to=…&category=…&q=…` for the signed-in user.
pub async fn expenses_csv(
    State(state): State<AppState>,
    session: Option<Extension<CurrentSession>>,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(Extension(session)) = session else {
        return (StatusCode::UNAUTHORIZED, "Please sign in first.").into_response();
    };
    let user = match db::users::by_id(&state.db, session.user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "Please sign in first.").into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, AppError::from(e).to_string()).into_response(),
    };
    let filter = match parse_filter(&query, clock::today_in(&user.time_zone)) {
        Ok(f) => f,
        Err(e) => return (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    };
    let currency = Currency::find(&user.currency).unwrap_or(state.default_currency);
    let name = format!(
        "huddle-expenses-{}-{}.csv",
        filter.from.map_or("start".into(), |d| d.to_string()),
        filter.to.map_or("today".into(), |d| d.to_string())
    );
    // Premium: the export is also kept (saved reports), once it has been sent whole.
    let keep = match user.premium_since {
        Some(_) => Some(Kept { file_name: name.clone(), description: describe(&state, session.user_id, &filter).await }),
        None => None,
    };
    let chunks = rows(state.clone(), session.user_id, filter, currency);
    let body = match keep {
        Some(kept) => Body::from_stream(keep_copy(state, session.user_id, kept, chunks)),
        None => Body::from_stream(futures::StreamExt::map(chunks, |c| c.map(|c| c.text))),
    };
    csv_attachment(body, &name)
}

/// Some CSV text and how many expenses it holds.
struct Chunk {
    text: String,
    rows: i64,
}

/// What a kept export is called and says it holds.
struct Kept {
    file_name: String,
    description: String,
}

/// The range and filters of an export, in words, for the saved reports list.
async fn describe(state: &AppState, user_id: i64, f: &ExpenseFilter) -> String {
    let mut parts = vec![match (f.from, f.to) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        (Some(a), None) => format!("from {a}"),
        (None, Some(b)) => format!("until {b}"),
        (None, None) => "all dates".to_string(),
    }];
    if let Some(id) = f.category_id {
        let categories = db::categories::list(&state.db, user_id).await.unwrap_or_default();
        parts.push(categories.into_iter().find(|c| c.id == id).map_or("one category".into(), |c| format!("category {}", c.name)));
    }
    if let Some(text) = &f.text {
        parts.push(format!("containing \"{text}\""));
    }
    parts.join(", ")
}

/// Passes the export through and keeps a copy; once it has ended without an error (and is not
/// larger than a saved report may be), the copy is stored in a task of its own.
fn keep_copy(
    state: AppState,
    user_id: i64,
    kept: Kept,
    chunks: impl futures::Stream<Item = Result<Chunk, std::io::Error>> + Send + 'static,
) -> impl futures::Stream<Item = Result<String, std::io::Error>> {
    use futures::StreamExt;
    struct Copy {
        bytes: Vec<u8>,
        rows: i64,
        too_big: bool,
        kept: Kept,
    }
    let copy = Copy { bytes: Vec::new(), rows: 0, too_big: false, kept };
    futures::stream::unfold((Box::pin(chunks), Some(copy)), move |(mut chunks, copy)| {
        let state = state.clone();
        async move {
            let mut copy = copy?;
            match chunks.next().await {
                Some(Ok(chunk)) => {
                    if !copy.too_big && copy.bytes.len() + chunk.text.len() > super::saved_reports::MAX_SIZE {
                        (copy.too_big, copy.bytes) = (true, Vec::new());
                    } else if !copy.too_big {
                        copy.bytes.extend_from_slice(chunk.text.as_bytes());
                        copy.rows += chunk.rows;
                    }
                    Some((Ok(chunk.text), (chunks, Some(copy))))
                }
                // Failed midway: nothing is kept.
                Some(Err(e)) => Some((Err(e), (chunks, None))),
                None => {
                    if !copy.too_big {
                        tokio::spawn(async move {
                            let Copy { bytes, rows, kept, .. } = copy;
                            state.saved_reports.save(&state.db, user_id, &kept.file_name, &kept.description, rows, bytes).await;
                        });
                    }
                    None
                }
            }
        }
    })
}

/// The header line, then the rows newest first, one database page at a time.
fn rows(
    state: AppState,
    user_id: i64,
    filter: ExpenseFilter,
    currency: &'static Currency,
) -> impl futures::Stream<Item = Result<Chunk, std::io::Error>> + Send + 'static {
    let header = futures::stream::once(async { Ok(Chunk { text: "date,description,category,amount,currency,note\r\n".to_string(), rows: 0 }) });
    let body = futures::stream::unfold(Some(None::<Cursor>), move |cursor| {
        let (state, filter) = (state.clone(), filter.clone());
        async move {
            let cursor = cursor?;
            match db::expenses::page(&state.db, user_id, &filter, cursor, Direction::Older, BATCH).await {
                Ok(items) if items.is_empty() => None,
                Ok(items) => {
                    let next = (items.len() as i64 == BATCH).then(|| items.last().and_then(cursor_of)).flatten();
                    let text: String = items.iter().map(|e| line(e, currency)).collect();
                    Some((Ok(Chunk { text, rows: items.len() as i64 }), next.map(Some)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "CSV export failed midway");
                    Some((Err(std::io::Error::other("export failed")), None))
                }
            }
        }
    });
    futures::StreamExt::chain(header, body)
}

fn cursor_of(e: &Expense) -> Option<Cursor> {
    Some(Cursor { spent_on: Day::parse(&e.spent_on).ok()?, id: e.id })
}

fn line(e: &Expense, currency: &Currency) -> String {
    let fields = [
        e.spent_on.clone(),
        defuse_formula(&e.description),
        defuse_formula(&e.category),
        currency.plain(e.amount_minor),
        currency.code.to_string(),
        defuse_formula(e.note.as_deref().unwrap_or("")),
    ];
    let mut out = fields.iter().map(|f| quote(f)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

/// `GET /meetings/{code}/attendance.csv`: one line per stint of the meeting (who, joined,
/// left, how, minutes), for whoever may see who came (the host, those who took part, a room's
/// members); anyone else gets "not found".
pub async fn attendance_csv(
    State(state): State<AppState>,
    session: Option<Extension<CurrentSession>>,
    axum::extract::Path(code): axum::extract::Path<String>,
) -> Response {
    use crate::models::meeting::MeetingCode;
    use crate::models::time::format_utc;
    let Some(Extension(session)) = session else {
        return (StatusCode::UNAUTHORIZED, "Please sign in first.").into_response();
    };
    if let Err(e) = crate::api::meetings::limit_lookups(&state, session.user_id) {
        return (StatusCode::TOO_MANY_REQUESTS, e.to_string()).into_response();
    }
    let not_found = || (StatusCode::NOT_FOUND, AppError::NotFound.to_string()).into_response();
    let Ok(code) = MeetingCode::parse(&code) else { return not_found() };
    let access = match super::access::meeting(&state.db, &code, session.user_id).await {
        Ok(Some(a)) if a.sees_attendance => a,
        Ok(_) => return not_found(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let (_, stints) = match db::meetings::record(&state.db, access.meeting).await {
        Ok(r) => r,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, AppError::from(e).to_string()).into_response(),
    };
    let mut out = String::from("name,joined,left,how,minutes\r\n");
    let now = super::now_ms();
    for s in &stints {
        let minutes = (s.left_at.unwrap_or(now) - s.joined_at).max(0) as f64 / 60_000.0;
        let fields = [
            defuse_formula(&s.name),
            format_utc(s.joined_at),
            s.left_at.map(format_utc).unwrap_or_default(),
            s.left_by.map_or("in the call", |b| b.as_str()).to_string(),
            format!("{minutes:.1}"),
        ];
        push_line(&mut out, &fields);
    }
    csv_attachment(out, &format!("huddle-meeting-{code}.csv"))
}

/// `GET /chat/{id}/expenses.csv`: a room's shared expenses and recorded payments, oldest first
/// (date, type, description, amount, currency, paid by, each person's part, added by), for its
/// members; anyone else gets "not found".
pub async fn shared_csv(
    State(state): State<AppState>,
    session: Option<Extension<CurrentSession>>,
    axum::extract::Path(room): axum::extract::Path<String>,
) -> Response {
    let Some(Extension(session)) = session else {
        return (StatusCode::UNAUTHORIZED, "Please sign in first.").into_response();
    };
    let not_found = || (StatusCode::NOT_FOUND, AppError::NotFound.to_string()).into_response();
    let Ok(room) = room.parse::<i64>() else { return not_found() };
    let failed = |e: AppError| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    match super::access::room(&state.db, room, session.user_id).await {
        Ok(Some(a)) if a.is_member() => {}
        Ok(_) => return not_found(),
        Err(e) => return failed(e),
    }
    let (entries, people) = match tokio::try_join!(db::shared::entries(&state.db, room, i64::MAX), db::shared::people(&state.db, room)) {
        Ok(r) => r,
        Err(e) => return failed(e.into()),
    };
    let name = |id: i64| people.iter().find(|p| p.0 == id).map_or_else(String::new, |p| p.1.clone());
    let mut out = String::from("date,type,description,amount,currency,paid_by,parts,added_by\r\n");
    for e in entries.iter().rev() {
        let amount = |minor: i64| Currency::find(&e.currency).map_or_else(|| minor.to_string(), |c| c.plain(minor));
        let parts = e.parts.iter().map(|p| format!("{} {}", name(p.user_id), amount(p.amount_minor))).collect::<Vec<_>>().join("; ");
        let fields = [
            e.spent_on.clone(),
            if e.settlement { "payment" } else { "expense" }.to_string(),
            defuse_formula(&e.description),
            amount(e.amount_minor),
            e.currency.clone(),
            defuse_formula(&name(e.paid_by)),
            defuse_formula(&parts),
            defuse_formula(&name(e.created_by)),
        ];
        push_line(&mut out, &fields);
    }
    csv_attachment(out, &format!("huddle-room-{room}-expenses.csv"))
}

/// A CSV download named `file_name`.
pub(crate) fn csv_attachment(body: impl IntoResponse, file_name: &str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::try_from(format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Appends one CSV line of `fields`, each quoted as RFC 4180 needs.
fn push_line(out: &mut String, fields: &[String]) {
    out.push_str(&fields.iter().map(|f| quote(f)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
}

/// RFC 4180: quote a field holding a comma, quote or line break; double its quotes.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
    }
}
