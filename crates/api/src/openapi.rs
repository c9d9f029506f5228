//! The OpenAPI 3.1 document at `/api/openapi.json`, built from one table of operations.
//!
//! A test walks the table against the router, so a documented route that does not exist (or a
//! typo in a path) fails the build's tests.

use axum::response::IntoResponse;
use serde_json::{json, Map, Value};

/// One documented operation.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Least role that may call it; `None` for public, `Some("device")` for bridge devices.
    pub access: Option<&'static str>,
    /// Example request body, when it takes one.
    pub body: Option<&'static str>,
}

macro_rules! op {
    ($m:literal, $p:literal, $s:literal, $a:expr) => {
        Operation {
            method: $m,
            path: $p,
            summary: $s,
            access: $a,
            body: None,
        }
    };
    ($m:literal, $p:literal, $s:literal, $a:expr, $b:literal) => {
        Operation {
            method: $m,
            path: $p,
            summary: $s,
            access: $a,
            body: Some($b),
        }
    };
}

const AGENT: Option<&str> = Some("agent");
const SUPERVISOR: Option<&str> = Some("supervisor");
const ADMIN: Option<&str> = Some("admin");
const DEVICE: Option<&str> = Some("device");

pub const OPERATIONS: &[Operation] = &[
    op!("get", "/health", "Liveness and storage check", None),
    op!("post", "/api/v1/auth/login", "Sign in; sets the session cookie and returns a bearer token", None, r#"{"login":"anna","password":"secret-pass"}"#),
    op!("post", "/api/v1/auth/logout", "End the session", AGENT),
    op!("get", "/api/v1/me", "Who am I", AGENT),
    op!("get", "/api/v1/users", "List employees", AGENT),
    op!("post", "/api/v1/users", "Add an employee", ADMIN, r#"{"name":"Anna Meier","login":"anna","role":"agent","extension":"101","mobile":"+491701234567","password":"secret-pass"}"#),
    op!("get", "/api/v1/users/{id}", "One employee", AGENT),
    op!("patch", "/api/v1/users/{id}", "Change an employee (own work state: any role)", AGENT, r#"{"work_state":"paused","pause_reason":"lunch"}"#),
    op!("put", "/api/v1/users/{id}/password", "Set a web password (own, or admin)", AGENT, r#"{"password":"new-secret-pass"}"#),
    op!("put", "/api/v1/users/{id}/sip-password", "Set a user's SIP password for his phones (stored as digest H(A1) only); answers the SIP user name and realm", ADMIN, r#"{"password":"phone-secret-1"}"#),
    op!("get", "/api/v1/sip/load", "What the SIP service holds now: calls, legs, transactions, timers, TCP connections", SUPERVISOR),
    op!("get", "/api/v1/registrations", "Registered phones: user, contact, source address, transport, User-Agent, expires", SUPERVISOR),
    op!("get", "/api/v1/lookup", "Who is calling: ?number=RAW", AGENT),
    op!("get", "/api/v1/contacts", "List contacts: ?q=&company_id=&responsible_id=&phone=&limit=&offset=", AGENT),
    op!("post", "/api/v1/contacts", "Create a contact", AGENT, r#"{"name":"Jan Kowalski","company":"Acme GmbH","phones":["030 1234567"],"emails":["jan@acme.example"]}"#),
    op!("get", "/api/v1/contacts/{id}", "One contact", AGENT),
    op!("patch", "/api/v1/contacts/{id}", "Change a contact", AGENT, r#"{"phones":["+49 30 1234567","0170 1234567"]}"#),
    op!("delete", "/api/v1/contacts/{id}", "Delete a contact (its calls stay, unlinked)", SUPERVISOR),
    op!("get", "/api/v1/contacts/{id}/timeline", "A contact's timeline, newest first", AGENT),
    op!("post", "/api/v1/contacts/{id}/notes", "Add a note to a contact's timeline", AGENT, r#"{"text":"Wants a callback on Monday"}"#),
    op!("get", "/api/v1/companies", "List companies", AGENT),
    op!("post", "/api/v1/companies", "Create a company", AGENT, r#"{"name":"Acme GmbH","phones":["+49 30 9876543"]}"#),
    op!("get", "/api/v1/companies/{id}", "One company", AGENT),
    op!("delete", "/api/v1/companies/{id}", "Delete a company", SUPERVISOR),
    op!("get", "/api/v1/leads", "List leads: ?status=&open=&source_id=&responsible_id=&phone=", AGENT),
    op!("post", "/api/v1/leads", "Create a lead", AGENT, r#"{"title":"Website inquiry","phones":["+39 02 1234 5678"]}"#),
    op!("get", "/api/v1/leads/{id}", "One lead", AGENT),
    op!("patch", "/api/v1/leads/{id}", "Change a lead (status, responsible, converted contact)", AGENT, r#"{"status":"converted","contact_id":1}"#),
    op!("get", "/api/v1/leads/{id}/timeline", "A lead's timeline", AGENT),
    op!("post", "/api/v1/leads/{id}/notes", "Add a note to a lead", AGENT, r#"{"text":"Called back, no answer"}"#),
    op!("get", "/api/v1/deals", "List deals: ?stage=&contact_id=&company_id=&responsible_id=", AGENT),
    op!("post", "/api/v1/deals", "Create a deal (amount in cents)", AGENT, r#"{"title":"Fleet renewal","contact_id":1,"amount":1250000,"currency":"EUR"}"#),
    op!("get", "/api/v1/deals/{id}", "One deal", AGENT),
    op!("patch", "/api/v1/deals/{id}", "Change a deal (stage, amount, responsible)", AGENT, r#"{"stage":"won"}"#),
    op!("get", "/api/v1/deals/{id}/timeline", "A deal's timeline", AGENT),
    op!("post", "/api/v1/deals/{id}/notes", "Add a note to a deal", AGENT, r#"{"text":"Sent the offer"}"#),
    op!("get", "/api/v1/tasks", "List tasks, open and soonest due first: ?assignee_id=&done=&due_before=&contact_id=&lead_id=&deal_id=&limit=&offset= (agents: assigned to or written by them)", AGENT),
    op!("post", "/api/v1/tasks", "Create a task or call back on a contact, lead or deal (also written on its timeline); assignee defaults to the caller", AGENT, r#"{"title":"Call back about the offer","kind":"call_back","subject":{"kind":"contact","id":1},"due_at":"2026-11-23T09:00:00Z"}"#),
    op!("get", "/api/v1/tasks/{id}", "One task", AGENT),
    op!("patch", "/api/v1/tasks/{id}", "Change a task: title, due time, assignee, done", AGENT, r#"{"done":true}"#),
    op!("get", "/api/v1/calls", "Call log: ?from=&until=&direction=&status=&agent_id=&line_id=&source_id=&queue=&contact_id=&lead_id=&number= (agents: own calls)", AGENT),
    op!("post", "/api/v1/calls", "Report a finished call from another system", SUPERVISOR, r#"{"direction":"incoming","remote":"+4930123456","to":"<sip:+4989998877@pbx>","started_at":"2026-11-20T10:00:00Z","ended_at":"2026-11-20T10:00:30Z","status":"missed","idempotency_key":"pbx-1234"}"#),
    op!("post", "/api/v1/calls/originate", "Click-to-call: ring the user's registered phone, then call the number through the trunk when he answers (agents: only for themselves); 409 without a registered phone, 503 without SIP", AGENT, r#"{"user":2,"number":"+4930123456"}"#),
    op!("get", "/api/v1/calls/{id}", "One call", AGENT),
    op!("patch", "/api/v1/calls/{id}", "Rate a call, add notes; set its transcript (supervisors, admins, API keys)", AGENT, r#"{"rating":5,"notes":"Happy customer"}"#),
    op!("get", "/api/v1/calls/{id}/recording", "Download a call's recording", AGENT),
    op!("post", "/api/v1/bridge/calls", "Mobile SIM bridge: report a finished call (idempotent)", DEVICE, r#"{"idempotency_key":"a1","direction":"incoming","number":"+4930123456","started_at":"2026-11-20T10:00:00Z","ring_s":5,"duration_s":42,"answered":true}"#),
    op!("put", "/api/v1/bridge/calls/{id}/recording", "Mobile SIM bridge: upload a call's recording (raw audio body)", DEVICE),
    op!("get", "/api/v1/bridge/caller", "Mobile SIM bridge: overlay card for a ringing call, ?number=", DEVICE),
    op!("get", "/api/v1/analytics", "Figures for a period per manager, queue and source: ?from=&until=&service_level_s=", SUPERVISOR),
    op!("get", "/api/v1/events", "Live events (Server-Sent Events)", AGENT),
    op!("get", "/api/v1/apikeys", "List API keys", ADMIN),
    op!("post", "/api/v1/apikeys", "Create an API key (shown once)", ADMIN, r#"{"name":"zapier","role":"supervisor"}"#),
    op!("delete", "/api/v1/apikeys/{id}", "Revoke an API key", ADMIN),
    op!("get", "/api/v1/devices", "List bridge devices", ADMIN),
    op!("post", "/api/v1/devices", "Register a bridge device (token shown once)", ADMIN, r#"{"name":"Anna's Pixel","user_id":2}"#),
    op!("delete", "/api/v1/devices/{id}", "Remove a bridge device", ADMIN),
    op!("get", "/api/v1/sources", "List ad sources", AGENT),
    op!("post", "/api/v1/sources", "Create an ad source", ADMIN, r#"{"name":"Google Ads"}"#),
    op!("delete", "/api/v1/sources/{id}", "Delete an unused source", ADMIN),
    op!("get", "/api/v1/lines", "List our numbers", AGENT),
    op!("post", "/api/v1/lines", "Add a number and assign its source", ADMIN, r#"{"number":"+49 89 998877","name":"Google Ads DE","source_id":1,"lead_rule":"all"}"#),
    op!("get", "/api/v1/lines/{id}", "One number", AGENT),
    op!("patch", "/api/v1/lines/{id}", "Change a number's source, name or lead rule", ADMIN, r#"{"lead_rule":"incoming"}"#),
    op!("delete", "/api/v1/lines/{id}", "Delete a number added by hand", ADMIN),
    op!("get", "/api/v1/lead-exceptions", "Numbers that never create leads", ADMIN),
    op!("post", "/api/v1/lead-exceptions", "Add a number that never creates leads", ADMIN, r#"{"number":"+4930111222"}"#),
    op!("delete", "/api/v1/lead-exceptions/{number}", "Remove a lead exception", ADMIN),
    op!("get", "/api/v1/webhooks", "List webhooks", ADMIN),
    op!("post", "/api/v1/webhooks", "Subscribe a URL to events (secret shown once)", ADMIN, r#"{"url":"https://crm.example/hooks/ringbase","events":["call.ended","lead.created"]}"#),
    op!("delete", "/api/v1/webhooks/{id}", "Delete a webhook", ADMIN),
    op!("get", "/api/v1/webhooks/{id}/deliveries", "A webhook's delivery log", ADMIN),
    op!("get", "/api/v1/prompts", "Uploaded prompts: name, duration, sample rate, size", SUPERVISOR),
    op!("put", "/api/v1/prompts/{name}", "Upload or replace a prompt (audio/wav body: PCM, mono, 16-bit, 8000 or 16000 Hz, at most 10 MiB)", ADMIN),
    op!("delete", "/api/v1/prompts/{name}", "Delete a prompt", ADMIN),
    op!("get", "/api/v1/prompts/{name}/audio", "A prompt's audio (audio/wav)", SUPERVISOR),
    op!("get", "/api/v1/settings/masking", "Number masking per role", ADMIN),
    op!("put", "/api/v1/settings/masking", "Set number masking per role", ADMIN, r#"{"agent":{"mode":"first","count":6}}"#),
    op!("get", "/api/v1/settings/tracking", "Call tracking: header priority for the dialed number", ADMIN),
    op!("put", "/api/v1/settings/tracking", "Set the header priority", ADMIN, r#"{"dialed_number_priority":"diversion,to"}"#),
    op!("get", "/api/v1/settings/routing", "Routing settings: lines, queues, IVR, working hours, outbound (the TOML format as JSON)", SUPERVISOR),
    op!("get", "/api/v1/trunks", "Trunks: settings (password_set, never the password), read_only for command-line trunks, live registration status (pending, registered, failed, not_registering) with detail, since, expires_at", ADMIN),
    op!("put", "/api/v1/trunks", "Replace the trunks edited in the app (whole list; a trunk sent without password keeps its stored one; errors name the field, trunks[1].host)", ADMIN, r#"{"trunks":[{"name":"provider","number":"+4930123456","username":"acc1","password":"secret","domain":"sip.provider.example","host":"sip.provider.example:5060","outbound_proxy":null,"register":true,"expires":3600,"allow":["203.0.113.5"]}]}"#),
    op!("put", "/api/v1/settings/routing", "Replace the routing settings (validated; errors name the key)", ADMIN, r#"{"agents":[],"lines":[],"queues":[],"ivr_menus":[]}"#),
];

/// Builds the document.
pub fn build() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let mut operation = json!({
            "summary": op.summary,
            "responses": {
                "200": {"description": "OK"},
                "4XX": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        match op.access {
            None => operation["security"] = json!([]),
            Some(role) => operation["x-ringbase-role"] = json!(role),
        }
        if let Some(example) = op.body {
            let example: Value = serde_json::from_str(example).expect("examples are JSON");
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"example": example}}
            });
        }
        let params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            operation["parameters"] = Value::Array(params);
        }
        let item = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}));
        item[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Ringbase API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "CRM telephony: caller lookup, call log, leads, call tracking, mobile SIM bridge. Errors are {\"error\": {\"code\", \"message\", \"field\"}}. x-ringbase-role names the least role an operation needs (agent < supervisor < admin; device = bridge device token)."
        },
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key (rbk_...), a session token (rbs_...) or a bridge device token (rbd_...). Browsers use the rb_session cookie."}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}
                    }}}
                }
            }
        },
        "paths": Value::Object(paths)
    })
}

pub(crate) async fn document() -> impl IntoResponse {
    axum::Json(build())
}
