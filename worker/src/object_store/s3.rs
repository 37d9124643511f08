//! Objects in an S3 bucket through aws-sdk-s3, with the standard AWS credential chain (env,
//! profile, web identity for IRSA, instance metadata) and an optional endpoint for S3-compatible
//! stores. TLS uses rustls with ring, the one crypto provider of the whole binary.

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use chrono::{DateTime, Utc};
use orchestrator::definitions::{ObjectInfo, ObjectStore, ObjectStoreError, StoredObject};
use tracing::Instrument;

/// Where the bucket is and how to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Prepended to every key, e.g. `orch-io/`; empty for the bucket root.
    pub prefix: String,
    pub region: Option<String>,
    /// An S3-compatible endpoint (`AWS_ENDPOINT_URL`), e.g. MinIO or a local emulator.
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most emulators need.
    pub force_path_style: bool,
}

/// An S3 bucket used as an object store.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    /// Builds the client; credentials are resolved lazily, on the first request.
    pub async fn connect(settings: &S3Settings) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.force_path_style)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: settings.bucket.clone(),
            prefix: settings.prefix.clone(),
        }
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// Classifies an SDK error: throttling, 5xx and network trouble are worth a retry; a missing
/// bucket, a refused credential or a bad request is not.
fn classify<E, R>(operation: &str, uri: &str, err: &SdkError<E, R>) -> ObjectStoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = match err.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("no message")
        ),
        None => DisplayErrorContext(err).to_string(),
    };
    let message = format!("S3 {operation} {uri} failed: {detail}");
    let retryable = match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ServiceError(_) => {
            let code = err.as_service_error().and_then(|s| s.code()).unwrap_or("");
            matches!(
                code,
                "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout"
            )
        }
        _ => false,
    };
    if retryable {
        ObjectStoreError::Transient(message)
    } else if err.as_service_error().and_then(|s| s.code()) == Some("NoSuchKey") {
        ObjectStoreError::NotFound(uri.to_owned())
    } else {
        ObjectStoreError::Permanent(message)
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<StoredObject, ObjectStoreError> {
        let key = self.full_key(key);
        let uri = format!("s3://{}/{key}", self.bucket);
        let size_bytes = body.len() as u64;
        let span = tracing::info_span!(
            "s3.put",
            otel.kind = "client",
            bucket = %self.bucket,
            key = %key,
            size_bytes,
        );
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .instrument(span)
            .await
            .map_err(|e| classify("PutObject", &uri, &e))?;
        Ok(StoredObject { uri, size_bytes })
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectStoreError> {
        let key = self.full_key(key);
        let uri = format!("s3://{}/{key}", self.bucket);
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| classify("GetObject", &uri, &e))?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| ObjectStoreError::Transient(format!("S3 GetObject {uri}: {e}")))?;
        Ok(body.into_bytes().to_vec())
    }

    fn uri_of(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.full_key(key))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectStoreError> {
        let full_prefix = self.full_key(prefix);
        let uri = format!("s3://{}/{full_prefix}", self.bucket);
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full_prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| classify("ListObjectsV2", &uri, &e))?;
            for object in page.contents() {
                let Some(key) = object.key().and_then(|k| k.strip_prefix(&self.prefix)) else {
                    continue;
                };
                let last_modified = object
                    .last_modified()
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()))
                    .unwrap_or_default();
                found.push(ObjectInfo {
                    key: key.to_owned(),
                    size_bytes: object
                        .size()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                    last_modified,
                });
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        // S3 lists in UTF-8 byte order already; sorting keeps the promise for any S3-alike.
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }
}
