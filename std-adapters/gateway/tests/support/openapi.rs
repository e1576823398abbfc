//! The API's OpenAPI document (`openapi.json`) as the tests' judge: every
//! request a test makes goes through [`send`], which checks the answer's
//! status, headers and body against the operation's documented response
//! and fails the test on anything the document does not say — an
//! undocumented status included. A JSON request the gateway accepted in
//! full is checked against the documented request body too, so the
//! request schemas are held to what the gateway takes.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use serde_json::Value;

/// An answer, read whole and already checked.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends the request and checks the answer against the document (a
/// panic naming the operation and the mismatch when it does not hold).
pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let (client, request) = request.build_split();
    let request = request.expect("a well-formed request");
    let method = request.method().as_str().to_ascii_lowercase();
    let path = request.url().path().to_owned();
    let sent_json = request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| essence(v.to_str().unwrap_or("")) == "application/json");
    let sent = request
        .body()
        .and_then(|b| b.as_bytes())
        .map(<[u8]>::to_vec);
    let response = client.execute(request).await.expect("an answer");
    let answer = Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("the whole body"),
    };
    let contract = contract();
    let checked = contract
        .check_response(&method, &path, answer.status, &answer.headers, &answer.body)
        .and_then(|()| match sent {
            Some(sent) if sent_json && accepted_in_full(&answer) => {
                contract.check_request(&method, &path, &sent)
            }
            _ => Ok(()),
        });
    if let Err(why) = checked {
        panic!(
            "{} {path} answered {} {}: not as openapi.json says: {why}",
            method.to_ascii_uppercase(),
            answer.status,
            answer.text()
        );
    }
    answer
}

/// `POST base+path` with a JSON body and a bearer token, through [`send`]:
/// the status and the body as JSON.
pub async fn post_json(
    http: &reqwest::Client,
    url: String,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    let answer = send(http.post(url).bearer_auth(token).json(body)).await;
    (answer.status, answer.json())
}

/// `GET` with a bearer token, through [`send`]: the status and the body as
/// JSON.
pub async fn get_json(http: &reqwest::Client, url: String, token: &str) -> (u16, Value) {
    let answer = send(http.get(url).bearer_auth(token)).await;
    (answer.status, answer.json())
}

/// A 2xx that refused no element of a batch (a refused one answers its
/// own `Status`): then the whole request was one the gateway takes.
fn accepted_in_full(answer: &Answer) -> bool {
    (200..300).contains(&answer.status)
        && !answer.json()["Results"]
            .as_array()
            .is_some_and(|results| results.iter().any(|r| r.get("Status").is_some()))
}

/// The document, parsed once per test binary.
pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| Contract::new(tidings_gateway::api::OPENAPI))
}

pub struct Contract {
    doc: Value,
    /// Compiled schemas by their JSON pointer in the document.
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl Contract {
    pub fn new(text: &str) -> Self {
        Self {
            doc: serde_json::from_str(text).expect("openapi.json is JSON"),
            validators: Mutex::default(),
        }
    }

    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// Whether the answer is one the operation documents: its status,
    /// every required header (and each documented header's value), the
    /// body's media type and the body against its schema.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let operation = self.operation(method, path)?;
        let (at, response) = self
            .follow(&format!("{operation}/responses/{status}"))
            .map_err(|_| format!("status {status} is not documented for this operation"))?;
        if let Some(documented) = response.get("headers").and_then(Value::as_object) {
            for name in documented.keys() {
                let (header_at, header) = self.follow(&format!("{at}/headers/{}", escape(name)))?;
                match headers.get(name.as_str()) {
                    None if header["required"] == true => {
                        return Err(format!("the header {name} is missing"))
                    }
                    None => {}
                    Some(value) => {
                        let value = value
                            .to_str()
                            .map_err(|_| format!("the header {name} is not text"))?;
                        let schema = format!("{header_at}/schema");
                        let typed = match self.at(&format!("{schema}/type"))? {
                            Value::String(t) if t == "integer" => value
                                .parse::<i64>()
                                .map(Value::from)
                                .map_err(|_| format!("the header {name} is not an integer"))?,
                            _ => Value::String(value.to_owned()),
                        };
                        self.validate(&schema, &typed)
                            .map_err(|e| format!("the header {name}: {e}"))?;
                    }
                }
            }
        }
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return if body.is_empty() {
                Ok(())
            } else {
                Err("a body where the document says none".into())
            };
        };
        let given = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(essence)
            .ok_or("no Content-Type")?;
        if !content.contains_key(&given) {
            return Err(format!(
                "Content-Type {given} is not one of {:?}",
                content.keys().collect::<Vec<_>>()
            ));
        }
        let instance = Self::instance(&given, body)?;
        self.validate(
            &format!("{at}/content/{}/schema", escape(&given)),
            &instance,
        )
    }

    /// Whether a JSON request body matches the operation's request schema.
    pub fn check_request(&self, method: &str, path: &str, body: &[u8]) -> Result<(), String> {
        self.check_json_body(&self.operation(method, path)?, body)
    }

    /// Whether a POST the gateway made to a webhook (`webhooks.<name>`)
    /// is as documented: its header parameters and its JSON body.
    pub fn check_webhook(
        &self,
        name: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let operation = format!("/webhooks/{}/post", escape(name));
        let parameters = self.at(&format!("{operation}/parameters"))?;
        for i in 0..parameters.as_array().map_or(0, Vec::len) {
            let (at, parameter) = self.follow(&format!("{operation}/parameters/{i}"))?;
            let name = parameter["name"]
                .as_str()
                .ok_or("a parameter without a name")?;
            match headers.get(name).map(|v| v.to_str()) {
                None if parameter["required"] == true => {
                    return Err(format!("the header {name} is missing"))
                }
                None => {}
                Some(Ok(value)) => self
                    .validate(&format!("{at}/schema"), &Value::String(value.to_owned()))
                    .map_err(|e| format!("the header {name}: {e}"))?,
                Some(Err(_)) => return Err(format!("the header {name} is not text")),
            }
        }
        self.check_json_body(&operation, body)
    }

    fn check_json_body(&self, operation: &str, body: &[u8]) -> Result<(), String> {
        let (at, _) = self.follow(&format!("{operation}/requestBody"))?;
        let instance = Self::instance("application/json", body)?;
        self.validate(&format!("{at}/content/application~1json/schema"), &instance)
            .map_err(|e| format!("the request body: {e}"))
    }

    /// A body as its schema sees it: JSON parsed, anything else as text.
    fn instance(media: &str, body: &[u8]) -> Result<Value, String> {
        if media == "application/json" {
            serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))
        } else {
            std::str::from_utf8(body)
                .map(|text| Value::String(text.to_owned()))
                .map_err(|_| "the body is not UTF-8 text".into())
        }
    }

    /// The pointer of the operation serving `method` on a concrete path
    /// (a `{param}` segment of a documented path matches any segment).
    fn operation(&self, method: &str, path: &str) -> Result<String, String> {
        let paths = self.doc["paths"].as_object().ok_or("no paths")?;
        let template = paths
            .keys()
            .find(|template| matches_template(template, path))
            .ok_or_else(|| format!("{path} is not a documented path"))?;
        let at = format!("/paths/{}/{method}", escape(template));
        self.at(&at)
            .map_err(|_| format!("{method} is not documented for {template}"))?;
        Ok(at)
    }

    /// The value at a pointer, following a `$ref` there (to a
    /// `#/components/…` entry): where it ends up, and the value.
    fn follow(&self, pointer: &str) -> Result<(String, &Value), String> {
        let value = self.at(pointer)?;
        match value.get("$ref").and_then(Value::as_str) {
            Some(target) => {
                let target = target
                    .strip_prefix('#')
                    .ok_or_else(|| format!("{target}: not in this document"))?;
                self.follow(target)
            }
            None => Ok((pointer.to_owned(), value)),
        }
    }

    fn at(&self, pointer: &str) -> Result<&Value, String> {
        self.doc
            .pointer(pointer)
            .ok_or_else(|| format!("nothing at #{pointer}"))
    }

    /// Validates against the schema at `pointer`: the whole document is
    /// the schema resource (with a root `$ref` to that schema), so the
    /// `#/components/schemas/…` references in it resolve as written.
    fn validate(&self, pointer: &str, instance: &Value) -> Result<(), String> {
        let validator = self.validator(pointer)?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    fn validator(&self, pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(validator) = cache.get(pointer) {
            return Ok(Arc::clone(validator));
        }
        self.at(pointer)?;
        let mut root = self.doc.clone();
        root["$ref"] = Value::String(format!("#{}", fragment(pointer)));
        let validator = Arc::new(
            jsonschema::draft202012::new(&root)
                .map_err(|e| format!("the schema at #{pointer} does not compile: {e}"))?,
        );
        cache.insert(pointer.to_owned(), Arc::clone(&validator));
        Ok(validator)
    }
}

/// A media type without its parameters, lower case.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A JSON pointer segment (RFC 6901).
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer as a URI fragment: what a fragment may not hold
/// (`{id}` of a path template) percent-encoded.
fn fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for byte in pointer.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}
