//! Paths the pages link and redirect to, built in one place so user input in them is always
//! percent-encoded, and `next` after a login can only ever be a path on this site.

/// Percent-encodes `text` for a query value or a path segment (everything but unreserved
/// characters; `/` too when `keep_slash` is false).
pub fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `next` if it is a path on this site (`/…`, not `//host` or `/\host`, no control
/// characters), else `/`. Browsers treat `//host` and `/\host` as other sites.
pub fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.chars().any(char::is_control) =>
        {
            p
        }
        _ => "/",
    }
}

/// `/login?next=<target>`.
pub fn login_redirect(target: &str) -> String {
    format!("/login?next={}", encode(local_path(Some(target)), true))
}

/// The page a form posted to `path` lives on: the path without its last segment
/// (`/jobs/etl/launch` → `/jobs/etl`, `/logout` → `/`).
pub fn return_page(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) | None => "/".to_owned(),
        Some((parent, _)) => parent.to_owned(),
    }
}

/// The page of an asset (keys may hold `/`, kept as path separators).
pub fn asset(key: &str) -> String {
    format!("/assets/{}", encode(key, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_ever_a_local_path() {
        let check = |input: Option<&str>, expected: &str| assert_eq!(local_path(input), expected);
        check(Some("/runs?status=FAILURE"), "/runs?status=FAILURE");
        check(Some("//evil.example/x"), "/");
        check(Some("/\\evil.example"), "/");
        check(Some("https://evil.example"), "/");
        check(Some("/a\nSet-Cookie: x"), "/");
        check(Some(""), "/");
        check(None, "/");
    }

    #[test]
    fn forms_return_to_the_page_they_were_on() {
        let check = |input: &str, expected: &str| assert_eq!(return_page(input), expected);
        check("/jobs/etl/launch", "/jobs/etl");
        check("/runs/0190/cancel", "/runs/0190");
        check("/schedules/nightly/on", "/schedules/nightly");
        check("/logout", "/");
        check("/", "/");
    }

    #[test]
    fn user_text_is_percent_encoded() {
        assert_eq!(encode("a b&c=<d>/e", false), "a%20b%26c%3D%3Cd%3E%2Fe");
        assert_eq!(asset("raw/posts"), "/assets/raw/posts");
        assert_eq!(login_redirect("/jobs/a b"), "/login?next=/jobs/a%20b");
    }
}
