//! Redaction of secrets that travel inside text: passwords in URLs (`postgres://orch:pw@db`),
//! credentials in query strings (`?appid=…`, `&token=…`, presigned `X-Amz-Signature=…`) and
//! Slack webhook paths. Used where text from elsewhere is kept or shown: event payloads as the
//! storage layer writes them, error messages that quote a URL.
//!
//! It is a net under code that already keeps secrets out of messages (see `crate::secrets`), not
//! a licence to format them: it knows shapes, not values.

use std::borrow::Cow;

use crate::secrets::REDACTED;

/// Query parameters whose value is a credential (compared case-insensitively).
const SECRET_PARAMS: &[&str] = &[
    "appid",
    "api_key",
    "apikey",
    "api-key",
    "key",
    "access_token",
    "token",
    "auth",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
];

/// Everything after this in a URL is the secret part of a Slack incoming webhook.
const SLACK_HOOK: &str = "hooks.slack.com/services/";

/// Characters that end a query value or a URL's authority in free text.
fn ends_token(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '&' | '#' | '"' | '\'' | '<' | '>' | ')' | ']' | ',' | ';'
        )
}

/// `text` with URL passwords, credential query values and Slack hook paths replaced by `****`.
/// Borrows when there is nothing to redact (the common case costs a few substring scans).
pub fn redact_text(text: &str) -> Cow<'_, str> {
    if !text.contains("://") && !text.contains('=') {
        return Cow::Borrowed(text);
    }
    let step1 = redact_userinfo(text);
    let step2 = redact_query(&step1);
    let step3 = redact_slack(&step2);
    if step3 == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(step3.into_owned())
    }
}

/// `scheme://user:password@host` → `scheme://user:****@host`.
fn redact_userinfo(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| ends_token(c) || matches!(c, '/' | '?'))
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) if authority[..at].contains(':') => {
                let userinfo = &authority[..at];
                let colon = userinfo.find(':').unwrap_or(userinfo.len());
                out.push_str(&userinfo[..colon]);
                out.push(':');
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `?appid=abc&units=metric` → `?appid=****&units=metric`.
fn redact_query(text: &str) -> Cow<'_, str> {
    if !text.contains('=') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(pos) = rest.find(['?', '&']) {
        let (head, tail) = rest.split_at(pos + 1);
        out.push_str(head);
        let name_end = tail
            .find(|c: char| c == '=' || ends_token(c) || c == '?')
            .unwrap_or(tail.len());
        let name = &tail[..name_end];
        let is_secret = tail[name_end..].starts_with('=')
            && SECRET_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name));
        if is_secret {
            let value_start = name_end + 1;
            let value_end = tail[value_start..]
                .find(ends_token)
                .map_or(tail.len(), |i| value_start + i);
            out.push_str(&tail[..value_start]);
            if value_end > value_start {
                out.push_str(REDACTED);
                changed = true;
            }
            rest = &tail[value_end..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// `https://hooks.slack.com/services/T0/B0/xyz` → `https://hooks.slack.com/services/****`.
fn redact_slack(text: &str) -> Cow<'_, str> {
    if !text.contains(SLACK_HOOK) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(SLACK_HOOK) {
        let (head, tail) = rest.split_at(pos + SLACK_HOOK.len());
        out.push_str(head);
        let end = tail.find(ends_token).unwrap_or(tail.len());
        if end > 0 {
            out.push_str(REDACTED);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::redact_text;

    fn check(input: &str, expected: &str) {
        assert_eq!(redact_text(input), expected, "redact_text({input:?})");
    }

    #[test]
    fn credentials_in_text_are_masked() {
        check(
            "GET http://127.0.0.1:9/data/2.5/weather?lat=1&lon=2&appid=abc123&units=metric failed",
            "GET http://127.0.0.1:9/data/2.5/weather?lat=1&lon=2&appid=****&units=metric failed",
        );
        check("x?APPID=k", "x?APPID=****");
        check(
            "cannot connect to postgres://orch:s3cret@db:5432/orch: refused",
            "cannot connect to postgres://orch:****@db:5432/orch: refused",
        );
        check(
            "posting to https://hooks.slack.com/services/T00/B00/XXXX returned 404",
            "posting to https://hooks.slack.com/services/**** returned 404",
        );
        check(
            "s3 https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F&X-Amz-Signature=ff00",
            "s3 https://b.s3.amazonaws.com/k?X-Amz-Credential=****&X-Amz-Signature=****",
        );
        check("url 'http://h/?token=t1'.", "url 'http://h/?token=****'.");
    }

    #[test]
    fn text_without_credentials_is_unchanged() {
        for text in [
            "fetched 2 locations",
            "GET http://h/weather?lat=1&lon=2&units=metric returned 503",
            "postgres://orch@db:5432/orch",
            "a=b and c=d",
            "monkey=1&keyboard=2",
            "http://user@host/path",
            "?appid=",
        ] {
            assert!(
                matches!(redact_text(text), std::borrow::Cow::Borrowed(_)),
                "{text}"
            );
        }
    }
}
